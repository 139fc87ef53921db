"""The live timeline: bars per execution from engine events, counters, filters, clicks, export;
fitting the newest tree, wheel zoom around the cursor, the pinned label column."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

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
    start = view.item.span()[0]
    running = view.item.bar_rect(4, rows[4], start)
    finished = view.item.bar_rect(3, rows[3], start)
    assert running.right() > finished.right()  # a running bar reaches "now"
    view.item.now = lambda: T0 + 20
    assert view.item.bar_rect(4, rows[4], start).width() > running.width() * 0.9  # and keeps growing
    view.on_events([ev.StatusChanged(4, "success", None, T0 + 11), ev.StatusChanged(1, "success", None, T0 + 12)])
    qtbot.waitUntil(lambda: view.counter.text().startswith("0 running · 4 succeeded"), timeout=2000)


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


# -- fitting and zooming ----------------------------------------------------------------------

def long_root_tree(root_id: int, at: float, children: int = 5, root_seconds: float = 20.0):
    """A root running ``root_seconds`` with ``children`` 5 ms children spread over it, all ended."""
    events = [ev.ExecutionCreated(root_id, None, root_id, "Main Process", "Main Process", "flow", "running", {}, at)]
    for n in range(1, children + 1):
        child, started = root_id + n, at + n * root_seconds / (children + 1)
        events += [ev.ExecutionCreated(child, root_id, root_id, "Calculator", f"Calculator {n}", "flow", "running", {},
                                       started),
                   ev.StatusChanged(child, "success", None, started + 0.005)]
    return events + [ev.StatusChanged(root_id, "success", None, at + root_seconds)]


def wheel(view, x: float, y: float, notches: float, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    viewport = view.canvas.viewport()
    position = QPointF(x, y)
    event = QWheelEvent(position, QPointF(viewport.mapToGlobal(QPoint(round(x), round(y)))), QPoint(0, 0),
                        QPoint(0, round(120 * notches)), Qt.MouseButton.NoButton, modifiers,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def assert_fits_the_tree(view, child_ids) -> None:
    from app.visual.timeline_view import MIN_BAR_WIDTH, NAME_WIDTH, STATUS_COLOURS

    viewport = view.canvas.viewport().rect().toRectF()
    image = view.canvas.viewport().grab().toImage()
    for execution_id in view.visible_ids():
        label = view.label_viewport_rect(execution_id)
        assert viewport.contains(label) and label.left() < 40, (execution_id, label, viewport)
    root_bar = view.bar_viewport_rect(view.visible_ids()[0])
    assert root_bar.left() == NAME_WIDTH and viewport.width() * 0.9 < root_bar.right() <= viewport.right()
    for execution_id in child_ids:
        bar = view.bar_viewport_rect(execution_id)
        assert bar.width() >= MIN_BAR_WIDTH and viewport.contains(bar) and bar.left() > NAME_WIDTH, (execution_id, bar)
        # ... and it is painted there, not hidden under the labels
        colour = QColor(image.pixel(round(bar.center().x()), round(bar.center().y())))
        assert colour.green() > 120 and colour.red() < 120, (execution_id, colour.name(), STATUS_COLOURS["success"])


def test_a_new_tree_is_fitted_even_after_zooming_into_the_last_one(qtbot):
    view = open_timeline(qtbot)
    wheel(view, 900, 40, 10)  # zoomed far into the first tree, scrolled to its right
    assert view.canvas.horizontalScrollBar().value() > 0 and not view.following
    view.on_events(long_root_tree(20, T0 + 100))
    qtbot.waitUntil(lambda: view.model.pending == 0 and view.visible_ids()[:1] == [20], timeout=2000)
    assert view.canvas.horizontalScrollBar().value() == 0
    assert_fits_the_tree(view, range(21, 26))


def test_a_tree_that_arrived_while_hidden_is_fitted_when_shown(qtbot):
    view = open_timeline(qtbot)
    view.hide()
    view.resize(700, 300)
    view.on_events(long_root_tree(20, T0 + 100))
    qtbot.waitUntil(lambda: view.model.pending == 0, timeout=2000)
    view.show()
    qtbot.waitExposed(view)
    assert_fits_the_tree(view, range(21, 26))
    # F (the canvas focused) fits again after a zoom
    wheel(view, 500, 20, 4)
    assert view.bar_viewport_rect(20).right() > 700
    view.canvas.setFocus()
    qtbot.keyClick(view.canvas, Qt.Key.Key_F)
    assert_fits_the_tree(view, range(21, 26))


def test_wheel_zooms_time_around_the_cursor_and_labels_stay(qtbot):
    from app.visual.timeline_view import ROW_HEIGHT, ZOOM_STEP

    view = open_timeline(qtbot, long_root_tree(20, T0, children=40))
    bar = view.bar_viewport_rect(23)  # a 5 ms child somewhere in the middle
    x, y = bar.left(), bar.center().y()  # the cursor on the child's start
    at = view.time_at(x)
    scale = view.item.scale
    wheel(view, x, y, 3)
    assert view.item.scale == scale * ZOOM_STEP ** 3  # the time axis is magnified ...
    assert abs(view.time_at(x) - at) * view.item.scale <= 1.0  # ... around the point under the cursor
    assert abs(view.bar_viewport_rect(23).left() - x) <= 1.0
    assert view.canvas.horizontalScrollBar().value() > 0
    assert view.label_viewport_rect(23).left() < 40  # labels are pinned while the bars scroll
    assert view.bar_viewport_rect(20).height() == ROW_HEIGHT - 6  # rows keep their height
    wheel(view, x, y, -3)  # and back
    assert abs(view.item.scale - scale) < scale * 1e-9 and abs(view.time_at(x) - at) * view.item.scale <= 1.0
    # Over the labels (or with Shift) the wheel scrolls the rows instead
    rows = view.canvas.verticalScrollBar()
    assert rows.maximum() > 0 and rows.value() == 0
    wheel(view, 50, 40, -1)
    assert rows.value() == 3 * ROW_HEIGHT and view.item.scale == scale
    wheel(view, 600, 40, 1, Qt.KeyboardModifier.ShiftModifier)
    assert rows.value() == 0 and view.item.scale == scale
    wheel(view, 50, 40, 1, Qt.KeyboardModifier.ControlModifier)  # Ctrl+wheel zooms anywhere
    assert view.item.scale > scale


def test_shown_in_the_ide_after_a_cli_run_it_fits_the_newest_tree(qtbot, make_window, workspace):
    """No run since the IDE started, one from a shell before: opening the Timeline shows it."""
    import json
    import subprocess
    import sys

    cli = subprocess.run([sys.executable, "-m", "engine_core.cli", "run", "Main Process", "--workspace",
                          str(workspace.root), "--json"], capture_output=True, text=True, timeout=60)
    root = json.loads(cli.stdout)
    window = make_window(workspace)
    window.resize(1400, 900)
    dock = window.visuals.docks["timeline"]
    dock.show()
    dock.raise_()
    window.resizeDocks([dock], [800], Qt.Orientation.Horizontal)
    view = window.visuals.timeline
    children = [child["id"] for child in root["children"]]
    qtbot.waitUntil(lambda: view.visible_ids() == [root["id"], *children], timeout=10000)
    qtbot.waitUntil(lambda: view.canvas.viewport().width() > 700, timeout=2000)
    assert view.counter.text() == "0 running · 3 succeeded · 0 failed · 0 cancelled"
    assert_fits_the_tree(view, children)


def test_zooming_out_stops_at_a_quarter_of_the_fit(qtbot):
    view = open_timeline(qtbot, long_root_tree(20, T0))
    fitted = view.item.scale
    for _ in range(30):
        wheel(view, 600, 20, -1)
    assert abs(view.item.scale - fitted / 4) < fitted * 1e-9
    assert view.bar_viewport_rect(20).width() > 40  # the whole tree, a quarter of the width
