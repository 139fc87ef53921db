"""Application-wide light and dark palettes (the editor has its own colours per theme)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("light", "dark")


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
