"""Save what a view draws as PNG (raster) or SVG (vector, via QSvgGenerator)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsScene, QWidget

_MARGIN = 20.0
_MAX_PNG_SIDE = 12000  # a 10,000-row timeline is taller than any image viewer wants


def _source_rect(scene: QGraphicsScene) -> QRectF:
    return scene.itemsBoundingRect().adjusted(-_MARGIN, -_MARGIN, _MARGIN, _MARGIN)


def export_png(scene: QGraphicsScene, path: str | Path, scale: float = 2.0) -> Path:
    """Render the whole scene at ``scale`` (2 = sharp on high-DPI screens), shrunk if huge."""
    source = _source_rect(scene)
    scale = min(scale, _MAX_PNG_SIDE / max(source.width(), source.height(), 1.0))
    size = QSize(max(1, int(source.width() * scale)), max(1, int(source.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    scene.render(painter, QRectF(0, 0, size.width(), size.height()), source, Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    path = Path(path)
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path


def export_svg(scene: QGraphicsScene, path: str | Path, title: str = "Flowdesk") -> Path:
    source = _source_rect(scene)
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(int(source.width()), int(source.height())))
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle(title)
    painter = QPainter(generator)
    scene.render(painter, QRectF(0, 0, source.width(), source.height()), source)
    painter.end()
    return Path(path)


def export_dialog(parent: QWidget, scene: QGraphicsScene, suggested: str) -> Path | None:
    """Ask for a file name; the extension chosen (.png or .svg) picks the format."""
    path, _ = QFileDialog.getSaveFileName(parent, "Export", suggested, "PNG image (*.png);;SVG image (*.svg)")
    if not path:
        return None
    if path.lower().endswith(".svg"):
        return export_svg(scene, path)
    return export_png(scene, path if path.lower().endswith(".png") else path + ".png")
