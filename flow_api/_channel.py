"""The link between the flow API objects and the engine that runs the flow.

Inside a worker process the engine installs a channel; every API call that needs the
engine goes through it. Outside a flow (a plain shell, a type checker) there is none, and
calls say so instead of failing obscurely.
"""

from __future__ import annotations

from typing import Any, Protocol

from .errors import NotInsideFlowError


class Channel(Protocol):
    execution_id: int
    """The execution this channel speaks for (``this``)."""

    def call(self, op: str, **payload: Any) -> Any:
        """Ask the engine and wait for its answer."""

    def notify(self, op: str, **payload: Any) -> None:
        """Tell the engine something that needs no answer (logs, outputs)."""


_current: Channel | None = None


def install(channel: Channel | None) -> None:
    global _current
    _current = channel


def swap(channel: Channel | None) -> Channel | None:
    """Install ``channel`` and return the one it replaces (children run inline nest channels)."""
    global _current
    previous, _current = _current, channel
    return previous


def current() -> Channel:
    if _current is None:
        raise NotInsideFlowError(
            "this call only works inside a running flow; start the flow with "
            "'flowdesk run NAME' or from the Flowdesk IDE"
        )
    return _current
