"""``Engine``: the public face of the execution engine. Thread-safe; the IDE and the CLI are
both clients of it."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterable

from flow_api import EngineException, _wire

from .. import events as ev
from .. import journal_keys
from ..errors import UsageError
from ..status import TERMINAL
from ..store import Store
from ..workspace import Workspace
from . import control, resume
from .dispatcher import Dispatcher
from .options import EngineOptions

_STORE_POLL_S = 0.2
_TOUCH_S = 5.0  # how often the engine's session says it is alive (store.SESSION_STALE_S: gone)


class Engine:
    """Runs flows of one workspace, each execution in a worker process.

    >>> with Engine(Workspace.open("resources/examples")) as engine:
    ...     record = engine.run("Main Process")
    """

    def __init__(self, workspace: Workspace | str | os.PathLike, *, db_url: str | None = None,
                 options: EngineOptions | None = None, store: Store | None = None, follow_others: bool = False):
        """``options``: tunables, and where executions run (``EngineOptions(cluster=...)``).
        ``follow_others``: also publish what other engines sharing the database do (the IDE:
        a CLI's or another machine's runs show live; see ``engine_core.cluster.feed``)."""
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)
        self.options = options or EngineOptions()
        self.store = store or Store(resolve_db_url(self.workspace, db_url))
        self._owns_store = store is None
        self._bus = ev.EventBus()
        self._dispatcher = Dispatcher(self.workspace, self.store, self._bus, self.options)
        self._dispatcher.on_poll.append(_SessionTouch(self._dispatcher))
        self._follow_others = follow_others
        self._feed = self._notifier = None  # other engines' events here; ours announced (cluster/feed.py)
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "Engine":
        if not self._started:
            self._dispatcher.start()
            self._started = True
            # The dispatcher's first round takes over what dead engines left (resume, or ends
            # it): once start() returns, the database says so.
            self._dispatcher.post(_nothing).result()
            self._start_companions()
        return self

    def _start_companions(self) -> None:
        """PostgreSQL: announce this engine's commits to other engines (NOTIFY); with
        ``follow_others``, publish theirs here. Neither exists for a plain local SQLite run."""
        if self.store.dialect == "postgresql" or self._follow_others:
            from ..cluster import feed  # does not import distributed

            self._feed, self._notifier = feed.start_for(self._dispatcher, self.store, self._bus, self._follow_others)

    def close(self) -> None:
        """Stop the engine: durable executions are suspended (their rows stay running, paused
        or waiting, their locks kept; the next engine on this database resumes them), the rest
        is cancelled; then the workers stop and the database is released. To end executions
        instead of suspending them, :meth:`cancel` them first (``flowdesk run`` does on Ctrl+C
        and ``--timeout``)."""
        if self._started:
            if self._feed is not None:  # first: it posts to the dispatcher
                self._feed.stop()
            self._dispatcher.stop()
            if self._notifier is not None:  # last: it announces the final commits
                self._notifier.stop()
            self._feed = self._notifier = None
            self._started = False
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> "Engine":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- running --------------------------------------------------------------------------
    def submit(self, flow: str, inputs: dict[str, Any] | None = None, *, name: str | None = None,
               mode: str = "productive") -> int:
        """Queue a root execution of ``flow``; returns its id once it is committed.
        Raises UnknownFlowError (naming the flows there are) and UsageError for bad inputs."""
        return self.submit_many([(flow, inputs, name)], mode=mode)[0]

    def submit_many(self, items: Iterable[tuple[str, dict | None, str | None]], *, mode: str = "productive") -> list[int]:
        """Queue several root executions in one transaction."""
        prepared = []
        for flow, inputs, name in items:
            path, source = self.workspace.read_flow(flow)
            try:
                encoded = _wire.encode(inputs or {}, f"inputs of flow {flow!r}")
            except TypeError as exc:
                raise UsageError(str(exc)) from None
            prepared.append((flow, name, encoded, str(path), source))
        self.start()
        return self._dispatcher.post(self._create_roots, prepared, mode).result()

    def _create_roots(self, prepared: list, mode: str) -> list[int]:
        return [self._dispatcher.create(flow=flow, name=name, kind="flow", inputs=encoded, mode=mode,
                                        parent=None, path=path, source=source).id
                for flow, name, encoded, path, source in prepared]

    def wait(self, execution_id: int, timeout: float | None = None) -> dict:
        """Wait until the execution ends (a root that failed or was cancelled: until its whole
        tree has, as its children are cancelled with it); returns its stored record.
        Raises TimeoutError if ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._dispatcher.wait_ended(execution_id, remaining) is None:
                # Not running in this engine (another engine's, or already ended): the store knows.
                record = self.store.execution(execution_id)
                if record is None:
                    raise LookupError(f"there is no execution #{execution_id}")
                if record["status"] in TERMINAL:
                    return record
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"execution #{execution_id} did not end within {timeout} s")
                time.sleep(_STORE_POLL_S)
                continue
            return self.store.execution(execution_id)

    def run(self, flow: str, inputs: dict[str, Any] | None = None, *, name: str | None = None,
            timeout: float | None = None) -> dict:
        """Submit ``flow``, wait for it, and cancel the tree if ``timeout`` seconds pass."""
        execution_id = self.submit(flow, inputs, name=name)
        try:
            return self.wait(execution_id, timeout)
        except TimeoutError:
            self.cancel(execution_id, f"cancelled: timeout after {timeout:g} s")
            return self.wait(execution_id)

    def cancel(self, execution_id: int, message: str = "cancelled by user") -> str:
        """Cancel an execution and its running children. Works for executions of this engine
        and, through the database, of another engine on this machine. Returns
        ``'cancelled'``, ``'requested'`` or ``'finished'``."""
        if self._started and execution_id in self._dispatcher.active:
            done = self._dispatcher.post(self._cancel_here, execution_id, message).result()
            if done:
                return "cancelled"
        return self.store.request_cancel(execution_id)

    def _cancel_here(self, execution_id: int, message: str) -> bool:
        active = self._dispatcher.active.get(execution_id)
        if active is None:
            return False
        control.cancel_tree(self._dispatcher, active, message)
        return True

    def pause(self, execution_id: int) -> str:
        """Pause a running execution and its children where they are. Returns its status."""
        return self._control(execution_id, "pause")

    def resume(self, execution_id: int) -> str:
        """Let a paused execution go on (one paused with ``this.pause()`` too)."""
        return self._control(execution_id, "resume")

    def _control(self, execution_id: int, action: str) -> str:
        if self._started and execution_id in self._dispatcher.active:
            try:
                return self._dispatcher.post(self._control_here, execution_id, action).result()
            except EngineException as exc:
                raise UsageError(str(exc)) from None
        return self.store.request_control(execution_id, action)

    def _control_here(self, execution_id: int, action: str) -> str:
        active = self._dispatcher.active.get(execution_id)
        if active is None:
            raise UsageError(f"execution #{execution_id} has already ended; nothing to {action}")
        return control.apply(self._dispatcher, active, action)

    def respond(self, message_id: int, response: dict) -> dict:
        """Answer the form ``message_id`` with ``response`` (a dict keyed like the form);
        the flows waiting for it go on. Returns the answered message record. Raises
        LookupError for an unknown message and UsageError (naming the field) for an answer
        the form does not accept, or a form already answered."""
        if not isinstance(response, dict):
            raise UsageError(f"the answer to a form is a JSON object keyed by its fields, not {type(response).__name__}")
        self.start()
        return self._dispatcher.post(self._dispatcher.forms.respond, message_id, response).result()

    # -- replaying -----------------------------------------------------------------------
    def replay(self, execution_id: int, *, debug: bool = True, live_after: bool = False,
               recorded_code: bool = False) -> int:
        """Run a stored flow execution's handler again as a new execution (``replay_of`` it),
        every flow API call answered from its journal: nothing outside is touched and the
        original's rows, outputs and settings are never written. ``debug``: in development
        mode, serving DAP (see :meth:`debug_address`); otherwise it runs at once (a check).
        Where the recording ends before the handler does, the replay pauses
        (:class:`~engine_core.events.JournalEnded`) until :meth:`continue_replay`, or goes on
        live at once with ``live_after``. ``recorded_code``: run the code the original ran
        (stored with it) instead of the flow file as it is now. Returns the replay's id.
        Raises LookupError for an unknown id, UsageError when it cannot be replayed."""
        self.start()
        return self._dispatcher.post(self._create_replay, execution_id, debug, live_after, recorded_code).result()

    def _create_replay(self, execution_id: int, debug: bool, live_after: bool, recorded_code: bool) -> int:
        d = self._dispatcher
        row = d.writer.execution_fields(execution_id)
        if row is None:
            raise LookupError(f"there is no execution #{execution_id}")
        label = f"execution #{execution_id} ({row['flow']})"
        if row["kind"] != "flow":
            raise UsageError(f"{label} is a connection: replay the flow execution that made it")
        if execution_id in d.active or row["status"] not in TERMINAL:
            raise UsageError(f"{label} is still {row['status']}: replay it once it has ended")
        if not row.get("durable"):
            why = "it is itself a replay" if row.get("replay_of") is not None else \
                "resume (and so its journal) was off for it"
            raise UsageError(f"{label} has no journal to replay: {why}")
        try:
            path, source = self.workspace.read_flow(row["flow"])
        except Exception as exc:  # UnknownFlowError: the flow was deleted or renamed since
            if not recorded_code:
                raise UsageError(f"{label} cannot be replayed: {exc}") from None
            path = self.workspace.root / "flows" / f"{row['flow']}.py"
        if recorded_code:
            source = self._recorded_script(row, label)
        plan = resume.plan_for(d.writer, self.workspace, execution_id, journal_keys.REPLAY)
        replay = d.create(flow=row["flow"], name=f"{row['name']} (replay of #{execution_id})", kind="flow",
                          inputs=row["inputs"], mode="development" if debug else "productive", parent=None,
                          path=str(path), source=source, replay_of=execution_id)
        replay.plan = plan  # sent with RUN when it is dispatched (later this round)
        if live_after:
            d.replays.live_after.add(replay.id)
        return replay.id

    def _recorded_script(self, row: dict, label: str) -> str:
        text = self.store.script(row["script_sha"]) if row.get("script_sha") else None
        if text is None:
            raise UsageError(f"{label}: the code it ran was not stored; replay it with the flow as it is now")
        return text

    def continue_replay(self, execution_id: int, live: bool) -> str:
        """Answer a replay paused at the end of its recording: ``live`` (its calls act for real
        from there, under the replay's id) or stop (it ends cancelled). Returns its status."""
        return self._dispatcher.post(self._dispatcher.replays.continue_, execution_id, bool(live)).result()

    # -- observing ------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[ev.Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` after each committed change; returns an unsubscribe function.
        Callbacks run on the engine's thread: keep them short, never block in them."""
        return self._bus.subscribe(callback)

    def debug_address(self, execution_id: int) -> tuple[str, int] | None:
        """Where a development-mode execution serves DAP (127.0.0.1, port), once it listens."""
        active = self._dispatcher.active.get(execution_id)
        return active.debug_address if active else None

    def tree(self, execution_id: int) -> dict | None:
        return self.store.tree(execution_id)

    def busy(self) -> bool:
        """Whether executions of this engine are queued, running or paused (the IDE switches
        where runs go only when nothing runs)."""
        return bool(self._started and self._dispatcher.active)

    def describe_backend(self) -> dict:
        """Where this engine's executions run: ``{"runs_on": "this machine"}`` or, on a
        cluster, ``{"runs_on": "cluster", "scheduler": ..., "dashboard": ..., "workers": N}``."""
        return self._dispatcher.backend.describe()


def _nothing() -> None:
    return None


class _SessionTouch:
    """An ``on_poll`` hook: refresh the session's ``seen_at`` every :data:`_TOUCH_S` (the
    first poll at once), so an engine on another machine can tell this one is alive."""

    def __init__(self, d: Dispatcher):
        self._d = d
        self._next = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now >= self._next and self._d.session_id is not None:
            self._next = now + _TOUCH_S
            self._d.writer.touch_session(self._d.session_id, time.time())


def resolve_db_url(workspace: Workspace, db_url: str | None) -> str:
    """``--db`` wins, then ``FLOWDESK_DB``, then ``db_url`` in ``.flowdesk/config.toml``, then
    SQLite in the workspace's ``.flowdesk/``."""
    return db_url or os.environ.get("FLOWDESK_DB") or workspace.config().get("db_url") or workspace.default_db_url()
