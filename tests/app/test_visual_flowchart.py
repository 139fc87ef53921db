"""The flowchart view on example flows: clicking selects lines, the cursor marks a box,
child statuses colour the call boxes, export works."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage


def open_chart(qtbot, workspace, flow="Main Process"):
    from app.visual.flowchart_view import FlowchartView

    view = FlowchartView()
    qtbot.addWidget(view)
    view.resize(700, 700)
    view.show_flow(flow, (workspace.root / "flows" / f"{flow}.py").read_text())
    view.show()
    view.canvas.fit()
    return view


def box_of(view, kind, target=None):
    return next(b for b in view.chart.boxes if b.kind == kind and (target is None or b.target == target))


def click(qtbot, view, box, double=False):
    pos = view.canvas.mapFromScene(view.box_scene_center(box.id))
    (qtbot.mouseDClick if double else qtbot.mouseClick)(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_click_a_box_selects_its_lines(qtbot, workspace):
    view = open_chart(qtbot, workspace)
    assert view.title.text() == "Main Process"
    with qtbot.waitSignal(view.selectLines, timeout=1000) as signal:
        click(qtbot, view, box_of(view, "flow", "Calculator"))
    assert signal.args == ["Main Process", 6, 10]  # the whole multi-line this.flow(...) statement
    with qtbot.waitSignal(view.selectLines, timeout=1000) as signal:
        click(qtbot, view, box_of(view, "success"))
    assert signal.args == ["Main Process", 17, 17]


def test_double_click_a_call_opens_the_child(qtbot, workspace):
    view = open_chart(qtbot, workspace)
    with qtbot.waitSignal(view.openFlow, timeout=1000) as signal:
        click(qtbot, view, box_of(view, "flow", "Messenger"), double=True)
    assert signal.args == ["Messenger"]


def test_cursor_line_marks_the_box(qtbot, workspace):
    view = open_chart(qtbot, workspace, "Handle Errors")
    view.highlight_line(7)
    assert view.chart.box(view.marked).label == "this.log('my_other_flow_name failed')"
    assert view.boxes[view.marked].marked
    previous = view.marked
    view.highlight_line(5)
    assert view.chart.box(view.marked).kind == "flow" and not view.boxes[previous].marked


def test_child_status_colours_the_call_box(qtbot, workspace):
    view = open_chart(qtbot, workspace)
    calculator, messenger = box_of(view, "flow", "Calculator"), box_of(view, "flow", "Messenger")
    before = view.box_fill(messenger.id)
    view.set_child_status("Calculator", "running")
    assert view.box_fill(calculator.id) == "#fff59d"
    view.set_child_status("Calculator", "error")
    assert view.box_fill(calculator.id) == "#ef9a9a"
    assert view.box_fill(messenger.id) == before
    view.reset_status()
    assert view.box_fill(calculator.id) == before


def test_broken_flow_says_why(qtbot, workspace):
    workspace.write_flow("Broken", "def handler(system, this, inputs):\n    this.flow('x'\n")
    view = open_chart(qtbot, workspace, "Broken")
    assert "syntax error on line" in view.title.text()


def test_export_png_and_svg(qtbot, workspace, tmp_path):
    from app.visual.export import export_png, export_svg

    view = open_chart(qtbot, workspace, "Handle Errors")
    image = QImage(str(export_png(view.scene, tmp_path / "chart.png")))
    assert not image.isNull() and image.height() > 300
    svg = export_svg(view.scene, tmp_path / "chart.svg")
    assert svg.read_text().lstrip().startswith("<?xml") and "DependencyFailedError" in svg.read_text()
