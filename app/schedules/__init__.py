"""Schedules in the IDE: a bottom panel listing the workspace's ``schedules/*.json`` with their
next run times, to switch them on and off or delete them. The IDE never starts a scheduled run;
``flowdesk serve`` does. ``install(window)`` uses only the window's public attributes
(add_panel, bridge, workspace, show_error)."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

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
    window.schedules = panel
    return panel
