"""Application-wide light and dark palettes (the editor has its own colours per theme)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("light", "dark")

# Toolbar icon colours per theme (VS Code's debug toolbar colours: green starts, red stops,
# blue steps; line art in the text colour).
_ICON_COLOURS = {
    "light": {"text": "#424242", "run": "#388A34", "stop": "#A1260D", "step": "#007ACC"},
    "dark": {"text": "#C5C5C5", "run": "#89D185", "stop": "#F48771", "step": "#75BEFF"},
}


def icon_colours(name: str) -> dict[str, str]:
    return _ICON_COLOURS.get(name, _ICON_COLOURS["light"])


def apply_theme(app: QApplication, name: str) -> None:
    app.setStyle("Fusion")
    if name != "dark":
        app.setPalette(app.style().standardPalette())
        return
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#252526", QPalette.ColorRole.WindowText: "#d4d4d4",
        QPalette.ColorRole.Base: "#1e1e1e", QPalette.ColorRole.AlternateBase: "#2a2a2b",
        QPalette.ColorRole.ToolTipBase: "#2d2d30", QPalette.ColorRole.ToolTipText: "#d4d4d4",
        QPalette.ColorRole.Text: "#d4d4d4", QPalette.ColorRole.Button: "#333337",
        QPalette.ColorRole.ButtonText: "#d4d4d4", QPalette.ColorRole.Highlight: "#264f78",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.Link: "#4fc1ff",
        QPalette.ColorRole.PlaceholderText: "#8a8a8a",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6d6d6d"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6d6d6d"))
    app.setPalette(palette)
