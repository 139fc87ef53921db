"""The three visuals installed in the real main window on the example workspace."""

from __future__ import annotations

from PySide6.QtCore import Qt


def visual_window(make_window, workspace):
    from app.visual import install

    window = make_window(workspace)
    return window, install(window)


def test_docks_menu_and_graph_refresh_on_save(qtbot, make_window, workspace):
    window, visuals = visual_window(make_window, workspace)
    titles = [a.text() for a in window.findChildren(type(window.save_action)) if a.text()]
    assert {"Graph", "Flowchart", "Timeline", "Export Visual as PNG/SVG…"} <= set(titles)
    visuals.docks["graph"].show()
    visuals.docks["graph"].raise_()
    visuals.refresh_graph()
    qtbot.waitUntil(lambda: "flow:Main Process" in visuals.graph.nodes, timeout=10000)
    editor = window.tabs.open_flow("Calculator")
    editor.set_text(editor.text().replace("    return this.success", "    this.flow('Messenger')\n    return this.success"))
    window.tabs.save(editor)
    qtbot.waitUntil(lambda: ("flow:Calculator", "flow:Messenger") in visuals.graph.edges, timeout=10000)


def test_graph_double_click_opens_the_flow_in_the_editor(qtbot, make_window, workspace):
    window, visuals = visual_window(make_window, workspace)
    visuals.docks["graph"].show()
    visuals.docks["graph"].raise_()
    visuals.graph.show_workspace(window.workspace)
    visuals.graph.canvas.fit()
    pos = visuals.graph.canvas.mapFromScene(visuals.graph.node_scene_center("Messenger"))
    qtbot.mouseDClick(visuals.graph.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert window.tabs.current_flow() == "Messenger"


def test_flowchart_follows_the_editor_both_ways(qtbot, make_window, workspace):
    window, visuals = visual_window(make_window, workspace)
    visuals.docks["flowchart"].show()
    visuals.docks["flowchart"].raise_()
    editor = window.tabs.open_flow("Main Process")
    # The chart is built in the analysis process and arrives a moment later.
    qtbot.waitUntil(lambda: visuals.flowchart.flow == "Main Process", timeout=5000)
    editor.go_to_line(13)  # inside this.flow('Messenger', ...)
    qtbot.waitUntil(lambda: visuals.flowchart.marked is not None
                    and visuals.flowchart.chart.box(visuals.flowchart.marked).target == "Messenger", timeout=2000)
    calc = next(b for b in visuals.flowchart.chart.boxes if b.target == "Calculator")
    visuals.flowchart.canvas.fit()
    pos = visuals.flowchart.canvas.mapFromScene(visuals.flowchart.box_scene_center(calc.id))
    qtbot.mouseClick(visuals.flowchart.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    selected = editor.text().encode()[editor.selectionStart():editor.selectionEnd()].decode()
    assert selected.lstrip().startswith("new_value = this.flow(") and "['result']" in selected.splitlines()[-1]


def test_a_run_fills_the_timeline_and_colours_the_flowchart(qtbot, make_window, workspace):
    window, visuals = visual_window(make_window, workspace)
    window.ask_run_inputs = lambda flow, remembered: {}
    window.tabs.open_flow("Main Process")
    window.run_flow("Main Process")
    qtbot.waitUntil(lambda: visuals.timeline.counter.text().startswith("0 running · 3 succeeded"), timeout=30000)
    assert [visuals.timeline.model.rows[i].flow for i in visuals.timeline.visible_ids()] == \
        ["Main Process", "Calculator", "Messenger"]
    boxes = {b.target: b.id for b in visuals.flowchart.chart.boxes if b.kind == "flow"}
    assert visuals.flowchart.box_fill(boxes["Calculator"]) == "#a5d6a7"  # the child's success colour
    child = visuals.timeline.visible_ids()[1]
    qtbot.waitUntil(lambda: window.tree_model.node(child) is not None, timeout=5000)
    visuals.timeline.showExecution.emit(child)
    assert window.executions.selected_id == child
