"""The Schedules panel, driven through its widgets: the workspace's schedule files as rows (a
bad file as a red row with its message), the next three run times in each schedule's zone, the
Enabled checkbox writing the file, a file made afterwards (as by `flowdesk schedule create` in
a shell) appearing on the panel's poll."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from app.schedules import format_runs, install
from app.schedules.model import COLUMNS
from engine_core.schedules import records
from engine_core.workspace import Workspace

ENABLED = COLUMNS.index("Enabled")
NEXT = COLUMNS.index("Next runs")


def _write(ws, name, **fields):
    folder = ws / "schedules"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(fields, indent=2), encoding="utf-8")


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    Workspace.open(ws, create=True).create_flow("Report")
    _write(ws, "hourly", flow="Report", cron="0 * * * *", timezone="Europe/Vienna", enabled=True, inputs={})
    _write(ws, "mornings", flow="Report", cron="30 9 * * 1-5", timezone="America/New_York", enabled=False,
           inputs={"region": "us"})
    (ws / "schedules" / "broken.json").write_text('{"flow": "Report", "cron": "61 * * * *"}', encoding="utf-8")
    return ws


def _shown_panel(make_window, qtbot, workspace):
    window = make_window(workspace)
    panel = install(window)
    assert install(window) is panel  # a second install adds nothing
    panel.dock.show()
    panel.dock.raise_()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=5000)
    return window, panel


def _table(panel):
    """The table as the person sees it: {name: {column: text}}."""
    model = panel.model
    return {model.index(r, 0).data(): {COLUMNS[c]: model.index(r, c).data() for c in range(len(COLUMNS))}
            for r in range(model.rowCount())}


def _row(panel, name):
    return panel.model.names().index(name)


def _expected_runs(ws, name):
    return format_runs(records.next_runs(records.load(Workspace.open(ws), name), 3))


def test_lists_schedules_with_next_runs_and_the_bad_file(make_window, qtbot, workspace):
    window, panel = _shown_panel(make_window, qtbot, workspace)
    before = {n: _expected_runs(workspace, n) for n in ("hourly", "mornings")}
    table = _table(panel)
    after = {n: _expected_runs(workspace, n) for n in ("hourly", "mornings")}

    assert window.findChild(QLabel, "schedulesHeader").text().startswith(
        "Due runs start while this IDE or `flowdesk serve -w <dir>` has the workspace open")
    assert panel.dock.windowTitle() == "Schedules"
    assert panel.dock.toggleViewAction() in window.view_menu.actions()

    hourly = table["hourly"]
    assert (hourly["Flow"], hourly["Cron"], hourly["Time zone"]) == ("Report", "0 * * * *", "Europe/Vienna")
    assert hourly["Next runs"] in (before["hourly"], after["hourly"])
    # three hourly times: the day written once (unless midnight falls between them), then the clocks
    assert len(hourly["Next runs"].split(", ")) == 3
    assert table["mornings"]["Next runs"] in (before["mornings"], after["mornings"])
    assert table["mornings"]["Time zone"] == "America/New_York"

    model = panel.model
    check = lambda name: model.index(_row(panel, name), ENABLED).data(Qt.ItemDataRole.CheckStateRole)
    assert check("hourly") == Qt.CheckState.Checked
    assert check("mornings") == Qt.CheckState.Unchecked

    broken = model.index(_row(panel, "broken"), 1)
    assert "'cron'" in broken.data() and "broken" in broken.data()
    assert QColor(broken.data(Qt.ItemDataRole.ForegroundRole)) == QColor("#d32f2f")
    assert model.index(_row(panel, "broken"), 0).data(Qt.ItemDataRole.DecorationRole) is not None
    assert panel.view.columnSpan(_row(panel, "broken"), 1) == len(COLUMNS) - 1


def test_enabled_checkbox_writes_the_file(make_window, qtbot, workspace):
    _, panel = _shown_panel(make_window, qtbot, workspace)
    path = workspace / "schedules" / "mornings.json"
    index = panel.model.index(_row(panel, "mornings"), ENABLED)
    panel.view.setFocus()
    panel.view.setCurrentIndex(index)
    qtbot.keyClick(panel.view, Qt.Key.Key_Space)  # the person ticks the box

    qtbot.waitUntil(lambda: json.loads(path.read_text(encoding="utf-8"))["enabled"] is True, timeout=5000)
    qtbot.waitUntil(lambda: index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked, timeout=5000)
    assert json.loads(path.read_text(encoding="utf-8"))["inputs"] == {"region": "us"}

    # and the button beside the table switches it off again
    panel.view.selectRow(_row(panel, "mornings"))
    assert panel.toggle_button.text() == "Disable"
    qtbot.mouseClick(panel.toggle_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: json.loads(path.read_text(encoding="utf-8"))["enabled"] is False, timeout=5000)


def test_a_file_written_afterwards_appears_and_delete_asks_first(make_window, qtbot, workspace):
    _, panel = _shown_panel(make_window, qtbot, workspace)
    records.create(Workspace.open(workspace), records.Schedule("nightly", "Report", "0 2 * * *", "UTC"))
    qtbot.waitUntil(lambda: "nightly" in panel.model.names(), timeout=8000)  # the 2 s poll
    assert _table(panel)["nightly"]["Time zone"] == "UTC"

    asked = []
    panel.confirm = lambda name: asked.append(name) or False
    panel.view.selectRow(_row(panel, "nightly"))
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    assert asked == ["nightly"] and (workspace / "schedules" / "nightly.json").exists()

    panel.confirm = lambda name: True
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "nightly" not in panel.model.names(), timeout=5000)
    assert not (workspace / "schedules" / "nightly.json").exists()


def test_the_ide_runs_the_schedules_of_its_workspace_and_lets_go_when_it_closes(make_window, qtbot, workspace):
    """While the IDE has the workspace open its engine starts the due runs (it holds the
    workspace's schedule lock); a `flowdesk serve` beside it stands by; closing the IDE lets go."""
    from engine_core.schedules import ScheduleRunner

    window = make_window(workspace)
    ide = window.schedules.runner.runner
    assert ide is not None and ide.running
    qtbot.waitUntil(lambda: ide.starts_runs, timeout=5000)
    beside = ScheduleRunner(window.bridge.engine)  # as another engine would: it stands by
    beside.start()
    try:
        assert beside.wake() and not beside.starts_runs
        window.close()
        assert not ide.running
        assert beside.wake() and beside.starts_runs  # the IDE let go of the lock
    finally:
        beside.stop()
