"""Schedules in the IDE: a bottom panel listing the workspace's ``schedules/*.json`` with their
next run times, to switch them on and off or delete them; and, while a workspace is open, a
``ScheduleRunner`` on the IDE's engine that starts the due runs (unless ``flowdesk serve`` runs
them already: one runner per workspace starts runs, see engine_core/schedules/runner.py).
``install(window)`` uses only the window's public attributes (add_panel, bridge, workspace,
show_error)."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from engine_core.schedules import ScheduleRunner

from .model import SchedulesModel, format_runs
from .panel import SchedulesPanel

__all__ = ["install", "SchedulesPanel", "SchedulesModel", "format_runs"]


def install(window: QMainWindow) -> SchedulesPanel:
    """Add the Schedules panel (with its View menu entry); returns it (also ``window.schedules``).
    Installing twice returns the first panel."""
    existing = getattr(window, "schedules", None)
    if existing is not None:
        return existing
    panel = SchedulesPanel(lambda: window.workspace, window.show_error)
    panel.dock = window.add_panel("Schedules", panel)
    window.bridge.opened.connect(panel.refresh)
    runner = _IdeRunner(window.bridge)
    window.bridge.opened.connect(runner.start)
    window.bridge.closing.connect(runner.stop)  # before the engine behind it closes
    panel.runner = runner
    window.schedules = panel
    return panel


class _IdeRunner:
    """The schedule runner of the IDE's current engine."""

    def __init__(self, bridge):
        self._bridge = bridge
        self.runner: ScheduleRunner | None = None

    def start(self) -> None:
        self.stop()
        if self._bridge.engine is not None:
            self.runner = ScheduleRunner(self._bridge.engine).start()

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
