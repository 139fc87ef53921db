"""The IDE's link to ``engine_core.Engine``: opens it off the GUI thread and turns its events
(delivered on the engine's thread) into batched Qt signals on the GUI thread.

``Engine.start`` never runs on the GUI thread: it takes over what dead engines left (resuming
durable executions: a second and more with many), and the IDE stays responsive meanwhile.
Between ``opening`` and ``opened`` (or ``openFailed``) ``engine`` is None: commands say "the
engine is still starting".

The engine runs where the workspace's config says (``[cluster] run_on``, FLOWDESK_CLUSTER): on
this machine, or on a Dask cluster; ``reopen()`` applies a changed setting (app/cluster). It
follows other engines on the same database (the CLI's runs, other machines' IDEs), so their
executions show up live too."""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from engine_core import Engine, EngineOptions, Workspace
from engine_core.events import Event

from .tasks import call_on_gui_thread, run_in_background


RUN_HERE = "choose Run on: This machine in the toolbar to run here"


class EngineBridge(QObject):
    opening = Signal()  # open() was called: the engine starts in the background
    opened = Signal()
    openFailed = Signal(str)
    eventsArrived = Signal(list)  # a batch of engine events, in commit order
    problem = Signal(str)  # a user-facing error from a background engine call
    closing = Signal()  # the engine is about to close: its clients (schedules, webhooks) stop first

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.engine: Engine | None = None
        self.workspace: Workspace | None = None
        self._db_url: str | None = None
        self._pending: collections.deque[Event] = collections.deque()
        self._flush_scheduled = False
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._generation = 0  # one per open(); close() too, so an engine opening meanwhile is stale

    # -- lifecycle ------------------------------------------------------------------------
    def open(self, workspace: Workspace, db_url: str | None = None) -> None:
        self.close()
        self.workspace = workspace
        self._db_url = db_url
        generation = self._generation
        self.opening.emit()
        run_in_background(self._start_engine, workspace, db_url, generation,
                          on_done=lambda engine: self._started(engine, generation), on_error=self.openFailed.emit)

    def reopen(self) -> None:
        """Close the engine and open one on the same workspace and database again (the cluster
        setting changed). Nothing if no workspace was opened."""
        if self.workspace is not None:
            self.open(self.workspace, self._db_url)

    def _start_engine(self, workspace: Workspace, db_url: str | None, generation: int) -> Engine | None:
        engine = Engine(workspace, db_url=db_url, **engine_arguments(workspace))
        try:
            engine.start()
        except Exception:  # no scheduler there, TLS refused: a ClusterError, shown as it is
            engine.close()
            raise
        if generation != self._generation:
            # Closed (the window, or another workspace opened) while this one was opening: it
            # closes here, as the GUI thread may never deliver it (the IDE is quitting).
            engine.close()
            return None
        return engine

    def _started(self, engine: Engine | None, generation: int) -> None:
        if engine is None:
            return
        if generation != self._generation:
            engine.close()  # closed between the check above and now
            return
        self.engine = engine
        self._unsubscribe = engine.subscribe(self._on_engine_event)
        self.opened.emit()

    def close(self) -> None:
        self._generation += 1
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        if self.engine is not None:
            self.closing.emit()
            self.engine.close()
            self.engine = None

    @property
    def is_open(self) -> bool:
        return self.engine is not None

    # -- events (engine thread -> GUI thread) -----------------------------------------------
    def _on_engine_event(self, event: Event) -> None:
        self._pending.append(event)
        with self._lock:
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        call_on_gui_thread(self._flush, None, self)

    def _flush(self, _=None) -> None:
        with self._lock:
            self._flush_scheduled = False
        batch = []
        while self._pending:
            batch.append(self._pending.popleft())
        if batch:
            self.eventsArrived.emit(batch)

    # -- commands (run off the GUI thread) -------------------------------------------------
    def submit(self, flow: str, inputs: dict[str, Any], on_done: Callable[[int], None] | None = None) -> None:
        engine = self._require()
        if engine:
            run_in_background(engine.submit, flow, inputs, on_done=on_done, on_error=self.problem.emit)

    def cancel(self, execution_id: int) -> None:
        engine = self._require()
        if engine:
            run_in_background(engine.cancel, execution_id, on_error=self.problem.emit)

    def read(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None]) -> None:
        """Run a read of the store (``fn(store, *args)``) in the background."""
        engine = self._require()
        if engine:
            run_in_background(fn, engine.store, *args, on_done=on_done, on_error=self.problem.emit)

    def _require(self) -> Engine | None:
        if self.engine is None:
            self.problem.emit("the engine is still starting; try again in a moment")
        return self.engine


def engine_arguments(workspace: Workspace) -> dict[str, Any]:
    """Engine(...) arguments beyond the workspace: its cluster from the workspace's config (None:
    this machine), and following other engines' executions. Runs off the GUI thread."""
    from engine_core.cli_cluster import cluster_options

    arguments: dict[str, Any] = {"follow_others": True}
    cluster = cluster_options(workspace, None, False, otherwise=RUN_HERE)
    if cluster is not None:
        arguments["options"] = EngineOptions(cluster=cluster)
    return arguments
