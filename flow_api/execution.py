"""``this`` inside a flow, and every child execution a flow starts."""

from __future__ import annotations

import datetime as _dt
import time
from typing import TYPE_CHECKING, Any

from . import _channel, _wire
from .exceptions import (
    DependencyFailedError,
    DependencyTimeoutError,
    ExecutionCancel,
    ExecutionError,
    ExecutionSuccess,
    InvalidInputError,
)
from .status import FAILED, TERMINAL, ReturnWhen, public_status

if TYPE_CHECKING:  # pragma: no cover
    from .wrappers import Wrapped

_FIELDS = ("output_value", "input_value", "status", "name", "message", "flow", "id", "parent_id",
           "created_at", "started_at", "ended_at")
_SAVABLE = ("message", "output_value", "name")


class Execution:
    """One run of a flow (or of a connector).

    In a handler, ``this`` is the running execution. ``this.flow(...)`` and ``this.connect(...)``
    return the child's ``Execution``; ``system.execution(id)`` any other.
    """

    resource_kind = "execution"

    def __init__(self, execution_id: int):
        self.id = execution_id

    # -- children -------------------------------------------------------------------------
    def flow(self, flow_name: str, inputs: dict | None = None, name: str | None = None, run: bool = True,
             wait: bool = True, **input_kwargs: Any) -> "Execution":
        """Start a child execution of the flow ``flow_name``.

        Its inputs are ``inputs`` merged with the keyword arguments. With ``wait=True`` (the
        default) it waits for the child and returns it; a child that ends in error or is
        cancelled raises :class:`DependencyFailedError`. ``wait=False`` returns at once (call
        ``child.wait()`` later); ``wait=system.return_when.ALL_ENDED`` waits without raising
        (read ``child.get('status')``); ``run=False`` creates the child without starting it (call
        ``child.run()`` or ``child.run_async()``). Raises :class:`ResourceNotFoundError` when the
        workspace has no such flow.
        """
        merged = _merge_inputs(inputs, input_kwargs)
        encoded = _wire.encode(merged, f"input of flow {flow_name!r}")
        reply = _channel.current().call(
            "start_flow", parent=self.id, flow=flow_name, name=name, inputs=encoded, run=run, wait=run and bool(wait)
        )
        return _child_from_reply(reply, run and bool(wait), wait)

    def connect(self, connector_type: str | None = None, name: str | None = None, inputs: dict | None = None,
                run: bool = True, wait: bool = True, **input_kwargs: Any) -> "Execution":
        """Start a connection execution: a child whose work is done by the connector for
        ``connector_type`` (e.g. ``'REST'``, ``'GIT'``) with the given inputs. Returns it like
        :meth:`flow`; a failed connection raises :class:`DependencyFailedError`.
        Raises :class:`ConnectorError` for an unknown connector type."""
        if connector_type is None:
            connector_type = input_kwargs.pop("connector_type", None)
        if not connector_type:
            raise InvalidInputError("this.connect needs a connector_type, e.g. this.connect('REST', url=...)")
        merged = _merge_inputs(inputs, input_kwargs)
        encoded = _wire.encode(merged, f"input of connector {connector_type!r}")
        reply = _channel.current().call(
            "start_connector", parent=self.id, connector_type=connector_type, name=name, inputs=encoded,
            run=run, wait=run and bool(wait),
        )
        return _child_from_reply(reply, run and bool(wait), wait)

    def task(self, connector_type: str, inputs: dict | None = None, **input_kwargs: Any) -> "Execution":
        """The older name of :meth:`connect` with ``run=False``: returns an unstarted connection;
        ``.run()`` runs it and waits (reading its ``output_value`` runs it too)."""
        return self.connect(connector_type, inputs=inputs, run=False, **input_kwargs)

    def using(self, wrapper: str, **config: Any) -> "Wrapped":
        """Run the next ``.flow(...)`` / ``.connect(...)`` through a wrapper:
        ``'retry'`` (``max_tries=3``, ``delay_sec=10``: each try is a child of its own) or
        ``'timeout'`` (``timeout_sec``: the child is cancelled when it takes longer and
        :class:`DependencyTimeoutError` is raised). Wrappers chain:
        ``this.using('retry', max_tries=2).using('timeout', timeout_sec=5).flow('X')``."""
        from .wrappers import Wrapped

        return Wrapped(self, ()).using(wrapper, **config)

    def run(self) -> "Execution":
        """Start a child made with ``run=False`` (or ``this.task(...)``) and wait for it."""
        reply = _channel.current().call("run_child", id=self.id, wait=True)
        _raise_if_failed(self, reply)
        return self

    def run_async(self) -> "Execution":
        """Start a child made with ``run=False`` and return at once; a paused child resumes."""
        _channel.current().call("run_child", id=self.id, wait=False)
        return self

    def wait(self, return_when: str | None = None, timeout: float | None = None) -> "Execution":
        """Wait until this execution ends; raise :class:`DependencyFailedError` if it failed and
        :class:`DependencyTimeoutError` if ``timeout`` seconds pass first."""
        reply = _channel.current().call("wait", ids=[self.id], timeout=timeout, mode="all")[0]
        if reply["status"] not in TERMINAL:
            raise DependencyTimeoutError(f"execution {reply['label']} did not end within {timeout} s")
        if return_when != ReturnWhen.ALL_ENDED:
            _raise_if_failed(self, reply)
        return self

    def wait_for(self, *executions: "Execution", return_when: str = ReturnWhen.ALL_SUCCEEDED,
                 timeout: float | None = None) -> list["Execution"]:
        """Wait for several executions and return those that ended.

        ``return_when``: ``system.return_when.ALL_SUCCEEDED`` (the default: all must succeed;
        the first that fails raises :class:`DependencyFailedError`), ``ALL_ENDED`` (wait for
        all, whatever their ending) or ``FIRST_ENDED`` (return as soon as one ended). When
        ``timeout`` seconds pass first, raises :class:`DependencyTimeoutError`."""
        if len(executions) == 1 and isinstance(executions[0], (list, tuple, set)):
            executions = tuple(executions[0])  # wait_for([a, b]) as well as wait_for(a, b)
        if not executions:
            return []
        mode = {ReturnWhen.ALL_SUCCEEDED: "all_succeeded", ReturnWhen.ALL_ENDED: "all",
                ReturnWhen.FIRST_ENDED: "first"}.get(return_when)
        if mode is None:
            raise InvalidInputError(f"return_when must be one of system.return_when's constants, not {return_when!r}")
        replies = _channel.current().call("wait", ids=[e.id for e in executions], timeout=timeout, mode=mode)
        ended = [e for e, r in zip(executions, replies) if r["status"] in TERMINAL]
        if mode == "all_succeeded":
            for execution, reply in zip(executions, replies):
                _raise_if_failed(execution, reply)
        satisfied = bool(ended) if mode == "first" else len(ended) == len(executions)
        if not satisfied:
            pending = ", ".join(r["label"] for r in replies if r["status"] not in TERMINAL)
            raise DependencyTimeoutError(f"still running after {timeout} s: {pending}")
        return ended

    def cancel(self) -> "Execution":
        """Cancel this execution and its children (their ``finally:`` blocks run)."""
        _channel.current().call("control", id=self.id, action="cancel")
        return self

    def pause(self) -> "Execution":
        """Pause: on ``this``, until a person resumes it (the IDE, or ``flowdesk resume ID``);
        on a child, stop it (and its children) where it is until ``resume()``."""
        _channel.current().call("control", id=self.id, action="pause")
        return self

    def resume(self) -> "Execution":
        """Let a paused execution go on."""
        _channel.current().call("control", id=self.id, action="resume")
        return self

    # -- reading --------------------------------------------------------------------------
    def get(self, *fields: str) -> Any:
        """Read fields of the execution: ``'output_value'`` (its outputs, a dict),
        ``'input_value'``, ``'status'`` (``ENDED_SUCCESS``, ``ENDED_ERROR``, ``ENDED_CANCELLED``,
        ``PAUSED``, ``RUNNING``, ``WAITING``), ``'name'``, ``'message'``, ``'flow'``, ``'id'``,
        ``'parent_id'``, ``'created_at'``, ``'started_at'``, ``'ended_at'``. One field returns
        its value; several return a :class:`FieldValues` dict of them, which unpacks in the
        order asked: ``status, message = child.get('status', 'message')``. Reading a child made with ``run=False`` (or
        ``this.task(...)``) that was not run yet: reading its ``output_value`` runs it first."""
        if not fields:
            fields = ("output_value",)
        for field in fields:
            if field not in _FIELDS:
                raise InvalidInputError(f"unknown execution field {field!r}; known fields: {', '.join(_FIELDS)}")
        values = _channel.current().call("get", id=self.id, fields=list(fields))
        if values.get("held") and "output_value" in fields:
            # The outputs of a child made with run=False (this.task(...)) that was not run:
            # Cloudomation's older flows rely on reading them running it.
            self.run()
            values = _channel.current().call("get", id=self.id, fields=list(fields))
        values.pop("held", None)
        values = {key: _read_field(key, text) for key, text in values.items()}
        return values[fields[0]] if len(fields) == 1 else FieldValues((f, values[f]) for f in fields)

    def load(self, *fields: str) -> Any:
        """The same as :meth:`get`."""
        return self.get(*fields)

    def get_inputs(self) -> dict:
        """The input dict of this execution (the handler's ``inputs``)."""
        return self.get("input_value")

    # -- writing (on ``this``) ------------------------------------------------------------
    def set_output(self, *args: Any, **kwargs: Any) -> None:
        """Merge keys into this execution's outputs: ``set_output(result=1)`` or ``set_output('result', 1)``."""
        if args:
            if len(args) != 2:
                raise TypeError("set_output takes a key and a value, or keyword arguments")
            kwargs = {args[0]: args[1], **kwargs}
        encoded = _wire.encode(kwargs, "set_output")
        _channel.current().notify("set_output", id=self.id, outputs=encoded)

    def save(self, **fields: Any) -> "Execution":
        """Write fields of this execution: ``message`` (shown in the tree while it runs),
        ``output_value`` (replaces the outputs with a dict), ``name``."""
        unknown = set(fields) - set(_SAVABLE)
        if unknown:
            raise InvalidInputError(f"cannot save {', '.join(sorted(unknown))}; savable fields: {', '.join(_SAVABLE)}")
        if "output_value" in fields and not isinstance(fields["output_value"], dict):
            raise InvalidInputError("output_value must be a dict")
        encoded = _wire.encode(fields, "this.save")
        _channel.current().call("save_execution", id=self.id, fields=encoded)
        return self

    def set(self, **fields: Any) -> "Execution":
        """The same as :meth:`save`."""
        return self.save(**fields)

    def log(self, *args: Any, level: str = "info", **fields: Any) -> None:
        """Append a log entry: ``args`` are rendered like ``print``; keyword arguments are
        stored as structured fields."""
        text = " ".join(str(arg) for arg in args)
        encoded = _wire.encode(fields, "log field") if fields else None
        _channel.current().notify("log", id=self.id, level=level, text=text, fields=encoded)

    def message(self, subject: str, message: str | None = None, body: Any = None) -> Any:
        """Send a message to the user, or ask a person with a form.

        ``this.message('Done', 'all 20 files copied')`` shows a message (the IDE's Messages
        panel, ``flowdesk show``). With ``body=FORM`` (Cloudomation's form format, see the
        docs) it waits, the execution paused, until someone answers the form in the IDE or
        with ``flowdesk respond``; returns the :class:`Message`, whose
        ``get('response')`` is the answer."""
        if isinstance(body, dict):
            from .messages import create_form

            return create_form(self.id, subject, body, message).wait()
        text = message if message is not None else body
        _channel.current().notify("message", id=self.id, subject=str(subject),
                                  message="" if text is None else str(text))
        return None

    def success(self, message: str | None = None) -> None:
        """End the execution in success with ``message``, at once: the code after the call
        does not run (``return this.success(...)`` reads well and works too)."""
        # The debugger must not stop on a lifecycle signal as on an error: pydevd skips
        # exceptions raised on a line tagged like the next one.
        raise ExecutionSuccess(None if message is None else str(message))  # @IgnoreException

    def error(self, message: str | None = None) -> None:
        """End the execution in error with ``message``, at once."""
        raise ExecutionError(None if message is None else str(message))  # @IgnoreException

    def end(self, status: str = "success", message: str | None = None) -> None:
        """End the execution at once with ``status``: ``'success'``, ``'error'`` or
        ``'cancelled'`` (Cloudomation's ``ENDED_SUCCESS``/``ENDED_ERROR``/``ENDED_CANCELLED`` too)."""
        signal = {"success": ExecutionSuccess, "ended_success": ExecutionSuccess,
                  "error": ExecutionError, "ended_error": ExecutionError,
                  "cancelled": ExecutionCancel, "ended_cancelled": ExecutionCancel}.get(str(status).lower())
        if signal is None:
            raise InvalidInputError(f"this.end: status must be 'success', 'error' or 'cancelled', not {status!r}")
        raise signal(None if message is None else str(message))  # @IgnoreException

    def sleep(self, seconds: float) -> None:
        """Pause without busy-waiting. Cancelling the execution interrupts it.

        The engine keeps the time (a savepoint): the waiting flow holds no worker slot, and a
        flow resumed after an engine restart sleeps only the time that is left."""
        if seconds > 0:
            _sleep_until(time.time() + seconds, seconds)

    def sleep_until(self, timestamp: Any) -> None:
        """Sleep until ``timestamp``: UNIX seconds, a ``datetime`` (naive means local time) or
        an ISO 8601 string. A time in the past returns at once."""
        until = _epoch(timestamp)
        if until > time.time():
            _sleep_until(until)

    def __repr__(self) -> str:
        return f"Execution({self.id})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Execution) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("execution", self.id))


class FieldValues(dict):
    """Several fields read at once: a dict keyed by field name that, unlike a plain dict,
    iterates over its *values* in the order the fields were asked for, so the idiom of
    Cloudomation's flows works: ``status, message = child.load('status', 'message')``."""

    def __iter__(self):
        return iter(self.values())


def _merge_inputs(inputs: dict | None, kwargs: dict) -> dict:
    if inputs is None:
        return kwargs
    if not isinstance(inputs, dict):
        raise InvalidInputError(f"inputs must be a dict, not {type(inputs).__name__}")
    return {**inputs, **kwargs}


def _read_field(key: str, value: Any) -> Any:
    if key in ("output_value", "input_value"):
        return _wire.decode(value)
    if key == "status":
        return public_status(value)
    return value


def _epoch(timestamp: Any) -> float:
    if isinstance(timestamp, (int, float)):
        return float(timestamp)
    if isinstance(timestamp, str):
        try:
            timestamp = _dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(f"sleep_until: {timestamp!r} is not an ISO 8601 time") from None
    if isinstance(timestamp, _dt.datetime):
        return timestamp.timestamp()
    raise InvalidInputError(f"sleep_until takes UNIX seconds, a datetime or an ISO string, not {timestamp!r}")


def _child_from_reply(reply: dict, waited: bool, wait: Any = True) -> Execution:
    child = Execution(reply["id"])
    # wait=system.return_when.ALL_ENDED (Cloudomation's library does this): wait, but let the
    # flow look at child.get('status') instead of raising for a failed child.
    if waited and wait != ReturnWhen.ALL_ENDED:
        _raise_if_failed(child, reply)
    return child


def _raise_if_failed(child: Execution, reply: dict) -> None:
    if reply["status"] in FAILED:
        raise DependencyFailedError(child, reply["status"], reply.get("message"), reply["label"])


def _sleep_until(until: float, seconds: float | None = None) -> None:
    """Sleep until the wall-clock time ``until`` (epoch seconds), kept by the engine (op "sleep":
    parked there, no worker slot held; a cancel interrupts the wait). ``seconds``: the length
    asked for, when the flow asked for one (journaled for show, never compared)."""
    _channel.current().call("sleep", until=until, seconds=seconds)
