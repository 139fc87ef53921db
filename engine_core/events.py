"""What the engine tells its subscribers, always after the change is committed.

Callbacks run on the engine's dispatcher thread: they must be quick and must not call
back into the engine synchronously (a GUI marshals them to its own thread)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecutionCreated:
    """A new execution. ``replay_of``: the execution it replays (``Engine.replay``; for a
    replay's inline children, the original child), None for anything else."""

    id: int
    parent_id: int | None
    root_id: int
    flow: str
    name: str
    kind: str
    status: str
    inputs: Any
    at: float
    replay_of: int | None = None


@dataclass(frozen=True)
class StatusChanged:
    id: int
    status: str
    message: str | None
    at: float
    traceback: str | None = None


@dataclass(frozen=True)
class LogAppended:
    id: int
    level: str
    text: str
    fields: Any
    at: float


@dataclass(frozen=True)
class MessageAdded:
    """``this.message(...)``; with ``form`` set, a form waiting for a person's answer."""

    id: int  # the execution's
    subject: str
    message: str
    at: float
    message_id: int | None = None
    form: Any = None


@dataclass(frozen=True)
class FormAnswered:
    """A form was answered (``state='answered'``, ``response`` the answer) or closed because
    its execution ended (``state='cancelled'``)."""

    id: int  # the execution that created the form
    message_id: int
    response: Any
    at: float
    state: str = "answered"


@dataclass(frozen=True)
class ExecutionSaved:
    """``this.save(name=..., message=...)``: the execution's name or message changed while it runs."""

    id: int
    name: str
    message: str | None
    at: float


@dataclass(frozen=True)
class OutputChanged:
    id: int
    outputs: Any = field(default_factory=dict)


@dataclass(frozen=True)
class DebugListening:
    """A development-mode execution waits for a debugger (Flowdesk's or VS Code's) at host:port."""

    id: int
    host: str
    port: int


@dataclass(frozen=True)
class ExecutionResumed:
    """An engine took over an execution left running by an engine that is gone (or that
    stopped cleanly and suspended it): its handler runs again with every journaled call
    answered from the journal. ``lost_s``: the time between the execution's last recorded
    step and this resume (the tree shows "resumed after restart (12 s lost)")."""

    id: int
    lost_s: float
    at: float


@dataclass(frozen=True)
class JournalCaughtUp:
    """A resumed (or replayed) execution has used up its journal at call ``seq``: from here
    its calls act for real again (a replay only once it is told to go on live)."""

    id: int
    seq: int
    at: float


@dataclass(frozen=True)
class JournalEnded:
    """A replay reached the end of its recording (or a call that differs from it) at call
    ``seq``, line ``line`` of its flow; it is paused there until ``Engine.continue_replay``.
    ``message`` is what the user is shown."""

    id: int
    seq: int
    line: int | None
    message: str
    at: float


@dataclass(frozen=True)
class ExecutionPlaced:
    """A run of the execution claimed it on a cluster worker: ``host`` (the machine's name),
    ``address`` (the Dask worker, e.g. ``tcp://10.0.0.5:40123``), ``attempt`` (1 for the first
    run, more after a lost worker's execution was resumed elsewhere). The tree's "Worker"."""

    id: int
    host: str | None
    address: str | None
    attempt: int
    at: float

    @property
    def execution_id(self) -> int:  # the contract's name for ``id`` (every other event says ``id``)
        return self.id


Event = (ExecutionCreated | StatusChanged | LogAppended | MessageAdded | FormAnswered | ExecutionSaved
         | OutputChanged | DebugListening | ExecutionResumed | JournalCaughtUp | JournalEnded | ExecutionPlaced)
Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every event; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers = [*self._subscribers, callback]

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = [s for s in self._subscribers if s is not callback]

        return unsubscribe

    def publish(self, events: list[Event]) -> None:
        subscribers = self._subscribers  # copy-on-write list: safe to read without the lock
        for event in events:
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:  # a broken subscriber must not stop the engine
                    log.exception("event subscriber %r failed", callback)
