"""The dependency graph view on the example workspace: what a user clicks and sees, and export."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from engine_core import Workspace


def open_graph(qtbot, workspace):
    from app.visual.graph_view import GraphView

    view = GraphView()
    qtbot.addWidget(view)
    view.resize(1000, 500)
    view.show_workspace(Workspace.open(workspace.root))
    view.show()
    view.canvas.fit()
    return view


def point_of(view, name):
    return view.canvas.mapFromScene(view.node_scene_center(name))


def test_double_click_opens_the_flow(qtbot, workspace):
    view = open_graph(qtbot, workspace)
    with qtbot.waitSignal(view.openFlow, timeout=1000) as signal:
        qtbot.mouseDClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point_of(view, "Calculator"))
    assert signal.args == ["Calculator"]


def test_click_highlights_what_it_reaches_and_what_reaches_it(qtbot, workspace):
    view = open_graph(qtbot, workspace)
    with qtbot.waitSignal(view.flowSelected, timeout=1000) as signal:
        qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point_of(view, "Calculator"))
    assert signal.args == ["Calculator"]
    assert view.highlighted() == {"flow:Calculator", "flow:Main Process"}
    qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point_of(view, "Main Process"))
    assert view.highlighted() == {"flow:Main Process", "flow:Calculator", "flow:Messenger"}


def test_unknown_flows_red_cycles_flagged(qtbot, workspace):
    workspace.write_flow("A", "def handler(system, this, inputs):\n    this.flow('B')\n    this.flow('Ghost')\n")
    workspace.write_flow("B", "def handler(system, this, inputs):\n    this.flow('A')\n")
    view = open_graph(qtbot, workspace)
    assert view.nodes["flow:Ghost"].fill.name() == "#f9d0d0"
    assert view.nodes["flow:A"].label == "A ↻"
    assert "1 cycle(s): A → B" in view.summary.text()
    assert "1 unknown" in view.summary.text()
    # a double-click on an unknown flow opens nothing (there is no file)
    with qtbot.assertNotEmitted(view.openFlow):
        qtbot.mouseDClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point_of(view, "Ghost"))


def test_export_png_and_svg(qtbot, workspace, tmp_path):
    from app.visual.export import export_png, export_svg

    view = open_graph(qtbot, workspace)
    png = export_png(view.scene, tmp_path / "graph.png")
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 400 and image.height() > 100
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 10  # boxes, text and arrows, not a blank page
    svg = export_svg(view.scene, tmp_path / "graph.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and svg.stat().st_size > 5000
    assert "Main Process" in svg.read_text()
