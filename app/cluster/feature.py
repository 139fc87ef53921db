"""The IDE's cluster setting and status: which machine(s) the workspace's engine runs on.

Choosing in the "Run on" combo writes ``[cluster] run_on`` (and ``scheduler``) to the
workspace's config and reopens the engine through the bridge, which reads that config
(app/engine_bridge.py). Executions in flight are not cut off for it: while the engine has any,
the switch waits and happens when they have ended."""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel, QWidget

from engine_core.errors import FlowdeskError
from engine_core.status import TERMINAL

from ..engine_bridge import RUN_HERE
from ..models.execution_tree import WORKER_COLUMN
from ..tasks import run_in_background
from . import settings
from .widgets import CLUSTER, OTHER_CLUSTER, THIS_MACHINE, ClusterLabel, RunOnCombo, ask_scheduler

log = logging.getLogger(__name__)

REFRESH_MS = 5000  # the worker count in the status bar: workers come and go
WAITS_FOR_RUNS = "Run on: {where} takes effect when the running executions end"

# (parent, current address or None) -> the address, or None when cancelled. Tests replace it.
SchedulerAsker = Callable[[QWidget, "str | None"], "str | None"]


class ClusterFeature(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.bridge = window.bridge
        self.ask_scheduler: SchedulerAsker = ask_scheduler
        self._pending_reopen: str | None = None  # "This machine" / "Cluster (...)" while waiting for runs to end

        self.combo = RunOnCombo()
        toolbar = window.toolbar
        toolbar.addSeparator()
        self.combo_label = QLabel(" Run on: ")
        toolbar.addWidget(self.combo_label)
        toolbar.addWidget(self.combo)
        self.combo.activated.connect(self.choose)

        self.label = ClusterLabel()
        window.statusBar().addPermanentWidget(self.label)
        self._refresh = QTimer(self, interval=REFRESH_MS)
        self._refresh.timeout.connect(self.refresh_status)

        tree = window.executions.tree
        tree.setColumnHidden(WORKER_COLUMN, not window.tree_model.has_workers)
        window.tree_model.workerSeen.connect(lambda: tree.setColumnHidden(WORKER_COLUMN, False))

        self.bridge.opening.connect(self._engine_opening)
        self.bridge.opened.connect(self._engine_opened)
        self.bridge.openFailed.connect(self._engine_failed)
        self.bridge.closing.connect(self._refresh.stop)
        self.bridge.eventsArrived.connect(self._events)
        self.show_setting()  # disabled until a workspace is open
        if self.bridge.is_open:
            self._engine_opened()

    # -- the setting ------------------------------------------------------------------------
    def show_setting(self) -> None:
        """The combo as the workspace's config says."""
        workspace = self.bridge.workspace
        table = settings.read_cluster(workspace.root) if workspace is not None else {}
        self.combo.show_setting(table.get("run_on") == "cluster", table.get("scheduler"))
        self.combo.setEnabled(workspace is not None)

    def choose(self, index: int) -> None:
        """The user picked an entry: save it, then reopen the engine (now or after the runs)."""
        workspace = self.bridge.workspace
        if workspace is None:
            return
        table = settings.read_cluster(workspace.root)
        scheduler = table.get("scheduler")
        try:
            if index == THIS_MACHINE:
                if table.get("run_on", "local") == "local":
                    return self.show_setting()
                settings.write_cluster(workspace.root, run_on="local")
                where = "This machine"
            else:
                if index == OTHER_CLUSTER or (index == CLUSTER and not scheduler):
                    scheduler = self.ask_scheduler(self.window, scheduler)
                    if not scheduler:
                        return self.show_setting()
                self._require_distributed(scheduler)
                if table.get("run_on") == "cluster" and table.get("scheduler") == scheduler and self.bridge.is_open:
                    return self.show_setting()
                settings.write_cluster(workspace.root, run_on="cluster", scheduler=scheduler)
                where = f"Cluster ({scheduler})"
        except (FlowdeskError, OSError) as exc:
            self.show_setting()
            return self.window.show_error(str(exc))
        self.show_setting()
        self.apply(where)

    def _require_distributed(self, scheduler: str) -> None:
        from engine_core.cli_cluster import require_distributed

        require_distributed(f"running on the Dask cluster {scheduler}", RUN_HERE)

    def apply(self, where: str) -> None:
        """Reopen the engine on the saved setting, unless executions run on it now: then when
        they have ended (``_retry`` after each batch of events that ends one)."""
        self._pending_reopen = where
        if self._engine_busy():
            self.window.statusBar().showMessage(WAITS_FOR_RUNS.format(where=where), 10000)
        else:
            self._retry()

    def _retry(self) -> None:
        where = self._pending_reopen
        if where is None or self._engine_busy():
            return
        self._pending_reopen = None
        self.window.statusBar().showMessage(f"Run on: {where}; restarting the engine", 5000)
        self.bridge.reopen()

    def _engine_busy(self) -> bool:
        engine = self.bridge.engine
        return engine is not None and engine.busy()

    def _events(self, events: list) -> None:
        if self._pending_reopen is not None and any(getattr(e, "status", None) in TERMINAL for e in events):
            QTimer.singleShot(0, self._retry)  # after the window's own handling of the batch

    # -- status -----------------------------------------------------------------------------
    def _engine_opening(self) -> None:
        self._pending_reopen = None  # this opening applies the setting (or another workspace's)
        self.show_setting()
        self._refresh.stop()
        table = settings.read_cluster(self.bridge.workspace.root) if self.bridge.workspace else {}
        if table.get("run_on") == "cluster":
            self.label.show_state("Cluster · connecting…", f"Connecting to {table.get('scheduler')}")
        else:
            self.label.hide()

    def _engine_opened(self) -> None:
        engine = self.bridge.engine
        if engine is not None and engine.options.cluster is not None:
            self.refresh_status()
            self._refresh.start()
        else:
            self.label.hide()

    def _engine_failed(self, message: str) -> None:
        """The window shows the message (its usual error place); the label says so in short."""
        if self.combo.currentIndex() == CLUSTER:
            self.label.show_state("Cluster · not connected", message + "\nChoose Run on: This machine to run here.")

    def refresh_status(self) -> None:
        """Workers and dashboard from the engine, read off the GUI thread."""
        engine = self.bridge.engine
        if engine is not None:
            run_in_background(engine.describe_backend, on_done=self._described, on_error=self._describe_failed,
                              owner=self.label)

    def _described(self, described: dict) -> None:
        self.label.show_backend(described or {})

    def _describe_failed(self, message: str) -> None:
        log.warning("could not describe the cluster: %s", message)
        self.label.show_state("Cluster · not answering", message)
