"""``this.using(wrapper, **config)``: run a child flow or connection through wrappers.

The wrappers work with the public calls only (start, wait, cancel), so every try is an
ordinary child in the execution tree, named so a person can tell the tries apart."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

from .exceptions import DependencyFailedError, DependencyTimeoutError, InvalidInputError

if TYPE_CHECKING:  # pragma: no cover
    from .execution import Execution

_CANCEL_SETTLE_S = 5.0  # the engine kills a cancelled flow after its 2 s grace
_KNOWN = {"retry": {"max_tries", "delay_sec"}, "timeout": {"timeout_sec"}}


class Wrapped:
    """What ``this.using(...)`` returns: call ``.flow(...)`` or ``.connect(...)`` on it, or
    ``.using(...)`` again to add another wrapper (the first given is the outermost)."""

    def __init__(self, parent: "Execution", wrappers: tuple[tuple[str, dict], ...]):
        self._parent = parent
        self._wrappers = wrappers

    def using(self, wrapper: str, **config: Any) -> "Wrapped":
        """Add another wrapper inside the ones given so far."""
        if wrapper not in _KNOWN:
            raise InvalidInputError(f"unknown wrapper {wrapper!r}; known: {', '.join(sorted(_KNOWN))}")
        unknown = set(config) - _KNOWN[wrapper]
        if unknown:
            raise InvalidInputError(f"wrapper {wrapper!r} takes {', '.join(sorted(_KNOWN[wrapper]))}, "
                                    f"not {', '.join(sorted(unknown))}")
        return Wrapped(self._parent, (*self._wrappers, (wrapper, config)))

    def flow(self, flow_name: str, inputs: dict | None = None, name: str | None = None, **kw: Any) -> "Execution":
        """Start the child flow through the wrappers and wait for it."""
        start = lambda child_name: self._parent.flow(flow_name, inputs, name=child_name, wait=False, **kw)  # noqa: E731
        return self._run(start, name or flow_name)

    def connect(self, connector_type: str, inputs: dict | None = None, name: str | None = None, **kw: Any) -> "Execution":
        """Start the connection through the wrappers and wait for it."""
        start = lambda child_name: self._parent.connect(connector_type, name=child_name, inputs=inputs, wait=False, **kw)  # noqa: E731
        return self._run(start, name or connector_type)

    def _run(self, start: Callable[[str], "Execution"], name: str) -> "Execution":
        call: Callable[[str], "Execution"] = lambda child_name: start(child_name).wait()  # noqa: E731
        # A timeout bounds each try, whatever order the wrappers were given in: a retry of a
        # timed-out try is what users of both mean.
        ordered = sorted(self._wrappers, key=lambda w: w[0] != "timeout")
        for wrapper, config in ordered:
            call = _WRAPPERS[wrapper](call, start, **config)
        return call(name)


def _retry(inner, start, max_tries: int = 3, delay_sec: float = 10):
    if max_tries < 1:
        raise InvalidInputError("retry: max_tries must be at least 1")

    def call(name: str) -> "Execution":
        for attempt in range(1, max_tries + 1):
            try:
                return inner(f"{name} (try {attempt} of {max_tries})" if max_tries > 1 else name)
            except (DependencyFailedError, DependencyTimeoutError):
                if attempt == max_tries:
                    raise
                if delay_sec > 0:  # kept by the engine, like this.sleep (a savepoint)
                    from .execution import _sleep_until

                    _sleep_until(time.time() + delay_sec, delay_sec)
        raise AssertionError("unreachable")

    return call


def _timeout(inner, start, timeout_sec: float):
    def call(name: str) -> "Execution":
        child = start(name)
        try:
            return child.wait(timeout=timeout_sec)
        except DependencyTimeoutError:
            child.cancel()
            # Raise once the child has ended (its cleanup runs first), so the tree the flow
            # and the user look at shows it cancelled, not still running.
            child.wait(return_when="ALL_ENDED", timeout=_CANCEL_SETTLE_S)
            raise DependencyTimeoutError(f"{name} did not end within {timeout_sec} s and was cancelled") from None

    return call


_WRAPPERS = {"retry": _retry, "timeout": _timeout}
