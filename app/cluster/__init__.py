"""Running on a Dask cluster from the IDE: a "Run on: This machine / Cluster (<scheduler>)" combo
in the toolbar (saved as ``[cluster]`` in the workspace's ``.flowdesk/config.toml``, applied by
reopening the engine when nothing runs), a status-bar label "Cluster · N workers · Dashboard"
whose link opens Dask's dashboard, and the execution tree's Worker column shown once an
execution was placed on a worker. The details pane's "Worker:" line is app/panels/execution_details.

``install(window)`` uses the window's public attributes: toolbar, statusBar, bridge, tree_model,
executions, show_error."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from .feature import ClusterFeature
from .widgets import ClusterLabel, RunOnCombo, SchedulerDialog, scheduler_problem

__all__ = ["install", "ClusterFeature", "ClusterLabel", "RunOnCombo", "SchedulerDialog", "scheduler_problem"]


def install(window: QMainWindow) -> ClusterFeature:
    """Add the combo, the label and the Worker column's switch; returns the feature (also
    ``window.cluster``). Installing twice returns the first."""
    existing = getattr(window, "cluster", None)
    if existing is None:
        window.cluster = existing = ClusterFeature(window)
    return existing
