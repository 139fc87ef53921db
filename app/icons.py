"""Icons: execution status icons drawn at run time, and the toolbar's SVG icons from
``resources/icons`` in the theme's colours."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap, QPolygonF

STATUS_COLOURS = {
    "queued": "#9e9e9e",
    "running": "#1e88e5",
    "paused": "#fb8c00",
    "success": "#43a047",
    "error": "#e53935",
    "cancelled": "#757575",
}


@lru_cache(maxsize=None)
def status_icon(status: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(STATUS_COLOURS.get(status, "#9e9e9e"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    if status == "running":
        painter.drawPolygon(QPolygonF([QPointF(3, 2), QPointF(12, 7), QPointF(3, 12)]))
    elif status == "paused":
        painter.drawRect(3, 2, 3, 10)
        painter.drawRect(8, 2, 3, 10)
    else:
        painter.drawEllipse(2, 2, 10, 10)
    painter.end()
    return QIcon(pixmap)


# -- toolbar icons: SVG files in resources/icons, coloured for the theme -----------------------

@lru_cache(maxsize=None)
def resources_dir() -> Path:
    """Flowdesk's resources (examples, icons, licence notices): ``resources/`` inside a
    PyInstaller bundle (``sys._MEIPASS``) or beside the packages (a checkout, an editable
    install); an installed wheel has them in its installation's ``share/flowdesk/``
    (``sys.prefix``, or the user base for ``pip install --user``)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    beside = Path(__file__).resolve().parent.parent / "resources"
    if beside.is_dir():
        return beside
    import site

    for prefix in (sys.prefix, site.getuserbase()):
        installed = Path(prefix) / "share" / "flowdesk"
        if installed.is_dir():
            return installed
    return beside  # not found: callers report the missing file by its path


# The SVGs are drawn in the light theme's colours; these are swapped for the current theme's.
# currentColor is the text colour (an SVG renderer without a CSS context would draw it black).
_SVG_COLOURS = {"currentColor": "text", "#388A34": "run", "#A1260D": "stop", "#007ACC": "step"}
_RENDER_SIZES = (16, 20, 24, 32, 48, 64)


@lru_cache(maxsize=None)
def themed_icon(name: str, theme: str) -> QIcon:
    """``resources/icons/<name>.svg`` in ``theme``'s colours, rendered sharp at the usual sizes
    (an empty icon, never an error, when the file is missing: the action keeps its text)."""
    from PySide6.QtSvg import QSvgRenderer  # only the toolbar needs QtSvg: keep it off other imports

    from .themes import icon_colours

    try:
        svg = (resources_dir() / "icons" / f"{name}.svg").read_text(encoding="utf-8")
    except OSError:
        return QIcon()
    colours = icon_colours(theme)
    for placeholder, role in _SVG_COLOURS.items():
        svg = svg.replace(placeholder, colours[role])
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    if not renderer.isValid():
        return QIcon()
    icon = QIcon()
    for size in _RENDER_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        icon.addPixmap(QPixmap.fromImage(image))
    return icon
