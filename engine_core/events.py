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
    id: int
    parent_id: int | None
    root_id: int
    flow: str
    name: str
    kind: str
    status: str
    inputs: Any
    at: float


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


Event = (ExecutionCreated | StatusChanged | LogAppended | MessageAdded | FormAnswered | ExecutionSaved
         | OutputChanged | DebugListening)
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
