"""``this`` inside a flow, and every child execution a flow starts."""

from __future__ import annotations

import time
from typing import Any

from . import _channel, _wire
from .errors import DependencyFailedError, FlowTimeoutError

_TERMINAL = ("success", "error", "cancelled")
_FIELDS = ("output_value", "input_value", "status", "name", "message", "flow")


class Execution:
    """One run of a flow (or of a connector).

    In a handler, ``this`` is the running execution. ``this.flow(...)`` and ``this.connect(...)``
    return the child's ``Execution``.
    """

    resource_kind = "execution"

    def __init__(self, execution_id: int):
        self.id = execution_id
        self._ending: tuple[str, str | None] | None = None

    # -- children -------------------------------------------------------------------------
    def flow(self, flow_name: str, *, name: str | None = None, wait: bool = True, **inputs: Any) -> "Execution":
        """Start a child execution of ``flow_name`` with ``inputs``.

        With ``wait=True`` (the default) it waits for the child and returns it; if the child
        ends in error or is cancelled, raises :class:`DependencyFailedError`. With
        ``wait=False`` it returns at once; call ``child.wait()`` later.
        Raises :class:`ResourceNotFoundError` when the workspace has no such flow.
        """
        encoded = _wire.encode(inputs, f"input of flow {flow_name!r}")
        reply = _channel.current().call(
            "start_flow", parent=self.id, flow=flow_name, name=name, inputs=encoded, wait=wait
        )
        return _child_from_reply(reply, wait)

    def connect(self, connector_type: str, *, name: str | None = None, wait: bool = True, **params: Any) -> "Execution":
        """Start a connection execution: a child whose work is done by the connector for
        ``connector_type`` (e.g. ``'GIT'``, ``'REST'``) with ``params``. Returns it like :meth:`flow`.
        Raises :class:`ConnectorError` for an unknown connector type."""
        encoded = _wire.encode(params, f"parameter of connector {connector_type!r}")
        reply = _channel.current().call(
            "start_connector", parent=self.id, connector_type=connector_type, name=name, inputs=encoded, wait=wait
        )
        return _child_from_reply(reply, wait)

    def wait(self, timeout: float | None = None) -> "Execution":
        """Wait until this execution ends; raise :class:`DependencyFailedError` if it failed and
        :class:`FlowTimeoutError` if ``timeout`` seconds pass first."""
        reply = _channel.current().call("wait", ids=[self.id], timeout=timeout)[0]
        if reply["status"] not in _TERMINAL:
            raise FlowTimeoutError(f"execution {reply['label']} did not end within {timeout} s")
        _raise_if_failed(self, reply)
        return self

    def wait_for(self, *executions: "Execution", timeout: float | None = None) -> list["Execution"]:
        """Wait for several child executions; raise for the first that failed."""
        for execution in executions:
            execution.wait(timeout=timeout)
        return list(executions)

    # -- reading --------------------------------------------------------------------------
    def get(self, *fields: str) -> Any:
        """Read fields of the execution: ``'output_value'`` (its outputs, a dict),
        ``'input_value'``, ``'status'``, ``'name'``, ``'message'``, ``'flow'``. One field returns
        its value; several return a dict of them."""
        if not fields:
            fields = ("output_value",)
        for field in fields:
            if field not in _FIELDS:
                raise ValueError(f"unknown field {field!r}; known fields: {', '.join(_FIELDS)}")
        values = _channel.current().call("get", id=self.id, fields=list(fields))
        values = {key: (_wire.decode(text) if key in ("output_value", "input_value") else text)
                  for key, text in values.items()}
        return values[fields[0]] if len(fields) == 1 else values

    def get_inputs(self) -> dict:
        """The input dict of this execution (the handler's ``inputs``)."""
        return self.get("input_value")

    # -- writing (only on ``this``) -------------------------------------------------------
    def set_output(self, *args: Any, **kwargs: Any) -> None:
        """Merge keys into this execution's outputs: ``set_output(result=1)`` or ``set_output('result', 1)``."""
        if args:
            if len(args) != 2:
                raise TypeError("set_output takes a key and a value, or keyword arguments")
            kwargs = {args[0]: args[1], **kwargs}
        encoded = _wire.encode(kwargs, "set_output")
        _channel.current().notify("set_output", id=self.id, outputs=encoded)

    def log(self, *args: Any, level: str = "info", **fields: Any) -> None:
        """Append a log entry: ``args`` are rendered like ``print``; keyword arguments are
        stored as structured fields."""
        text = " ".join(str(arg) for arg in args)
        encoded = _wire.encode(fields, "log field") if fields else None
        _channel.current().notify("log", id=self.id, level=level, text=text, fields=encoded)

    def message(self, subject: str, message: str) -> None:
        """Record a user-facing message (shown in the IDE's Messages panel and by the CLI)."""
        _channel.current().notify("message", id=self.id, subject=str(subject), message=str(message))

    def success(self, message: str | None = None) -> "Execution":
        """End the execution in success with ``message``; ``return`` it from the handler."""
        self._ending = ("success", None if message is None else str(message))
        return self

    def error(self, message: str | None = None) -> "Execution":
        """End the execution in error with ``message``; ``return`` it from the handler."""
        self._ending = ("error", None if message is None else str(message))
        return self

    def sleep(self, seconds: float) -> None:
        """Pause without busy-waiting. Cancelling the execution interrupts it."""
        time.sleep(seconds)

    def __repr__(self) -> str:
        return f"Execution({self.id})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Execution) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("execution", self.id))


def _child_from_reply(reply: dict, waited: bool) -> Execution:
    child = Execution(reply["id"])
    if waited:
        _raise_if_failed(child, reply)
    return child


def _raise_if_failed(child: Execution, reply: dict) -> None:
    if reply["status"] in ("error", "cancelled"):
        raise DependencyFailedError(child, reply["status"], reply.get("message"), reply["label"])
