"""Running one execution inside the worker: load the flow, call its handler, and turn
whatever happens into (status, message, traceback)."""

from __future__ import annotations

import contextlib
import io
import sys
import traceback as tb_module
from dataclasses import dataclass
from multiprocessing.connection import Connection

import flow_api
from flow_api import _channel, _wire

from .. import connectors, protocol
from .cancel import cancellable
from .channel import EngineGone, PipeChannel
from .journal import JournalChannel
from .loader import FlowLoadError, call_handler, flow_location, load_handler, unload


@dataclass
class Outcome:
    status: str
    message: str | None
    traceback: str | None = None
    retire: bool = False  # the worker should not run anything else (e.g. after MemoryError)


def run_execution(conn: Connection, execution_id: int, kind: str, target: str, path: str | None,
                  source: str | None, inputs_json: str, plan=None) -> Outcome:
    """``plan``: a journal_keys.JournalPlan (resume, replay): its calls are answered from it."""
    channel = PipeChannel(conn, execution_id, run_inline=lambda spec, child_plan: _run_inline(conn, spec, child_plan),
                          flow_path=path if kind == "flow" else None)
    if plan is not None:
        channel = JournalChannel(channel, plan, flow_name=target)
    previous = _channel.swap(channel)  # nested for inline children (debugging): restored after
    this = flow_api.Execution(execution_id)
    try:
        with _output_to_log(this):
            return _run(this, kind, target, path, source, inputs_json)
    finally:
        _channel.install(previous)


def _run_inline(conn: Connection, spec: dict, plan=None) -> dict:
    """Run a child execution in this process, on this thread, and report it like a worker would.

    Used while debugging, so the child's frames sit under the parent's in one debug session:
    a breakpoint in the child is hit and Step In on ``this.flow(...)`` lands in its handler.
    ``plan``: the child's own journal (a replayed child replays its own calls)."""
    outcome = run_execution(conn, spec["id"], spec["kind"], spec["target"], spec["path"], spec["source"],
                            spec["inputs"], plan)
    conn.send((protocol.DONE, spec["id"], outcome.status, outcome.message, outcome.traceback, False))
    return {"id": spec["id"], "status": outcome.status, "message": outcome.message, "label": spec["label"]}


def _run(this: flow_api.Execution, kind: str, target: str, path: str | None, source: str | None,
         inputs_json: str) -> Outcome:
    module = None
    try:
        inputs = _wire.decode(inputs_json) or {}
        with cancellable():
            if kind == "connection":
                result = connectors.run(target, this, inputs)
                if result:
                    this.set_output(**result)
            else:
                handler, module = load_handler(target, path, source)
                call_handler(handler, flow_api.System(), this, inputs)
    except EngineGone:
        raise
    except flow_api.LifecycleSignal as signal:  # this.success/error/end, or a cancel
        return Outcome(signal.status, signal.message)
    except FlowLoadError as exc:
        return Outcome("error", str(exc))
    except MemoryError:
        return Outcome("error", "MemoryError: the flow ran out of memory (the worker's memory limit "
                                "was reached); the worker process was replaced", retire=True)
    except flow_api.DependencyFailedError as exc:
        return Outcome("error", f"{exc}{_where(exc, target, path)}", _format_traceback(exc))
    except BaseException as exc:  # noqa: BLE001 - any failure of user code ends the execution
        return Outcome("error", _describe(exc, target, path), _format_traceback(exc),
                       retire=isinstance(exc, (SystemExit, KeyboardInterrupt)))
    finally:
        if module is not None:
            unload(module)
    return Outcome("success", None)


def _describe(exc: BaseException, flow_name: str, path: str | None) -> str:
    if isinstance(exc, SystemExit):
        text = f"the flow called sys.exit({exc.code!r})"
    else:
        detail = str(exc)
        text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return text + _where(exc, flow_name, path)


def _where(exc: BaseException, flow_name: str, path: str | None) -> str:
    """' (flow 'X', line N)': the flow's line the exception came from, if it did."""
    line = flow_location(exc.__traceback__, path) if path else None
    return f" (flow {flow_name!r}, line {line})" if line is not None else ""


def _format_traceback(exc: BaseException) -> str:
    # Drop the worker's own frames: the user needs their flow's frames, not ours.
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith("engine_core."):
        tb = tb.tb_next
    return "".join(tb_module.format_exception(type(exc), exc, tb))


class _LogStream(io.TextIOBase):
    """``print`` inside a flow becomes log entries, one per line."""

    def __init__(self, this: flow_api.Execution, level: str):
        self._this = this
        self._level = level
        self._buffer = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self._this.log(line, level=self._level)
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            line, self._buffer = self._buffer, ""
            self._this.log(line, level=self._level)


@contextlib.contextmanager
def _output_to_log(this: flow_api.Execution):
    out, err = _LogStream(this, "stdout"), _LogStream(this, "stderr")
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        with contextlib.suppress(EngineGone):
            out.flush()
            err.flush()
