"""The live timeline: bars per execution from engine events, counters, filters, clicks, export."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from engine_core import events as ev

T0 = 1000.0


def tree_events():
    """Root 1 with children 2 (success), 3 (error) and 4 (still running); 5 is 2's child."""
    created = [ev.ExecutionCreated(1, None, 1, "Main Process", "Main Process", "flow", "running", {}, T0)]
    created += [ev.ExecutionCreated(i, p, 1, flow, f"{flow} {i}", "flow", "running", {}, T0 + i)
                for i, p, flow in ((2, 1, "Calculator"), (3, 1, "Messenger"), (4, 1, "Calculator"), (5, 2, "Messenger"))]
    ends = [ev.StatusChanged(2, "success", None, T0 + 6), ev.StatusChanged(5, "success", None, T0 + 5.5),
            ev.StatusChanged(3, "error", "boom", T0 + 4)]
    return created + ends


def open_timeline(qtbot, events=None):
    from app.visual.timeline_view import TimelineView

    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(1000, 400)
    view.item.now = lambda: T0 + 10
    view.show()
    view.on_events(events if events is not None else tree_events())
    qtbot.waitUntil(lambda: view.model.pending == 0 and bool(view.visible_ids()), timeout=2000)
    return view


def test_bars_nested_by_parent_with_live_counter(qtbot):
    view = open_timeline(qtbot)
    assert view.visible_ids() == [1, 2, 5, 3, 4]  # 5 sits under its parent 2
    assert view.counter.text() == "2 running · 2 succeeded · 1 failed · 0 cancelled"
    rows = {r.id: r for r in view.model.visible()}
    running = view.item.bar_rect(4, rows[4], *_span(view))
    finished = view.item.bar_rect(3, rows[3], *_span(view))
    assert running.right() > finished.right()  # a running bar reaches "now"
    view.item.now = lambda: T0 + 20
    assert view.item.bar_rect(4, rows[4], *_span(view)).width() > running.width() * 0.9  # and keeps growing
    view.on_events([ev.StatusChanged(4, "success", None, T0 + 11), ev.StatusChanged(1, "success", None, T0 + 12)])
    qtbot.waitUntil(lambda: view.counter.text().startswith("0 running · 4 succeeded"), timeout=2000)


def _span(view):
    start, end = view.model.span(view.item.now())
    return start, end - start


def test_filter_by_status_and_flow(qtbot):
    view = open_timeline(qtbot)
    view.status_box.setCurrentText("error")
    assert view.visible_ids() == [3]
    view.status_box.setCurrentText("all")
    view.flow_edit.setText("calc")
    assert view.visible_ids() == [2, 4]


def test_click_a_bar_shows_the_execution(qtbot):
    view = open_timeline(qtbot)
    pos = view.canvas.mapFromScene(view.row_scene_point(5))
    with qtbot.waitSignal(view.showExecution, timeout=1000) as signal:
        qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert signal.args == [5]


def test_a_new_root_replaces_the_tree(qtbot):
    view = open_timeline(qtbot)
    view.on_events([ev.ExecutionCreated(9, None, 9, "Calculator", "Calculator", "flow", "running", {}, T0 + 30)])
    qtbot.waitUntil(lambda: view.visible_ids() == [9], timeout=2000)


def test_export_png_and_svg(qtbot, tmp_path):
    from app.visual.export import export_png, export_svg

    view = open_timeline(qtbot)
    image = QImage(str(export_png(view.scene, tmp_path / "timeline.png")))
    assert not image.isNull() and image.width() > 1000
    red = QImage(image).pixelColor(image.width() // 2, 0)  # sanity: the image has content beyond white
    assert len({image.pixel(x, y) for x in range(0, image.width(), 5) for y in range(0, image.height(), 5)}) > 5, red
    svg = export_svg(view.scene, tmp_path / "timeline.svg")
    assert "Messenger 5" in svg.read_text() and svg.stat().st_size > 2000
