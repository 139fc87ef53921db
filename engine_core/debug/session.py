"""A debug session: one flow tree run in development mode under debugpy, driven through our
DAP client. The UI (or a test, or a script) talks to this; it knows nothing of Qt.

Children of a debugged flow run inside the same process (see ``engine_core.worker.runner``),
so one DAP session shows the whole tree: the child's handler frames sit above the parent's."""

from __future__ import annotations

import os
import sysconfig
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import engine_core
import flow_api

from .. import events as ev
from ..errors import FlowdeskError
from .dap_client import DapClient, DapError

# Our own code is "library" code for the debugger: stepping never enters it, and its frames
# are hidden from the call stack, so the user sees only flows (and their own modules).
_HIDDEN_ROOTS = tuple(str(Path(p).resolve()) + os.sep for p in (
    Path(engine_core.__file__).parent, Path(flow_api.__file__).parent,
    sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
))
_LIBRARY_RULES = [{"module": "engine_core", "include": False}, {"module": "flow_api", "include": False}]


@dataclass(frozen=True)
class StopInfo:
    reason: str  # breakpoint | step | exception | pause | entry | goto
    thread_id: int
    description: str = ""
    exception: str = ""  # for reason "exception": what was raised


@dataclass(frozen=True)
class Frame:
    id: int
    name: str
    path: str
    line: int
    flow: str | None  # the flow whose file this frame is in

    @property
    def label(self) -> str:
        return f"{self.name} — {self.flow}" if self.flow else f"{self.name} — {Path(self.path).name}"


@dataclass(frozen=True)
class Scope:
    name: str
    ref: int


@dataclass(frozen=True)
class Variable:
    name: str
    value: str
    type: str
    ref: int  # > 0: has children (expand with variables(ref))


class DebugSession:
    def __init__(self, engine, *, break_on_raised: bool = False):
        self.engine = engine
        self.break_on_raised = break_on_raised
        self.execution_id: int | None = None
        self.address: tuple[str, int] | None = None
        self.client: DapClient | None = None
        self.thread_id: int | None = None
        self.last_stop: StopInfo | None = None
        self.terminated = False
        self._listeners: list[Callable[[str, Any], None]] = []
        self._cond = threading.Condition()
        self._stops = 0
        self._listening: dict[int, tuple[str, int]] = {}
        self._breakpoints: dict[str, list[dict]] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="debug-session")
        self._temporary: tuple[str, list[dict]] | None = None

    # -- starting -------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[str, Any], None]) -> None:
        """``listener(kind, payload)``: kinds "stopped" (StopInfo), "continued", "output" (str),
        "terminated". Called on a background thread."""
        self._listeners.append(listener)

    def start(self, flow: str, inputs: dict | None = None, breakpoints: dict[str, list[dict]] | None = None,
              timeout: float = 30.0) -> int:
        """Start ``flow`` in development mode, attach, set breakpoints; returns the execution id.
        The flow runs (to its first breakpoint) once this returns."""
        unsubscribe = self.engine.subscribe(self._on_engine_event)
        try:
            self.execution_id = self.engine.submit(flow, inputs, mode="development")
            self.address = self._wait_listening(self.execution_id, timeout)
        finally:
            unsubscribe()
        self.client = DapClient(*self.address)
        self.client.add_listener(self._on_dap_event)
        self.client.request("initialize", {
            "clientID": "flowdesk", "clientName": "Flowdesk", "adapterID": "debugpy", "pathFormat": "path",
            "linesStartAt1": True, "columnsStartAt1": True, "supportsVariableType": True,
        })
        attached = self.client.send("attach", {"justMyCode": True, "rules": _LIBRARY_RULES, "subProcess": False})
        self.client.wait_event("initialized", timeout)
        for path, specs in (breakpoints or {}).items():
            self.set_breakpoints(path, specs)
        self.client.request("setExceptionBreakpoints", {"filters": self._exception_filters()})
        self.client.request("configurationDone")
        attached.result(timeout)
        return self.execution_id

    def _exception_filters(self) -> list[str]:
        # The engine catches whatever a handler raises (to end the execution in error), so an
        # exception leaving the user's code is "userUnhandled" rather than "uncaught".
        filters = ["uncaught", "userUnhandled"]
        return filters + ["raised"] if self.break_on_raised else filters

    def _on_engine_event(self, event) -> None:
        if isinstance(event, ev.DebugListening):
            with self._cond:
                self._listening[event.id] = (event.host, event.port)
                self._cond.notify_all()

    def _wait_listening(self, execution_id: int, timeout: float) -> tuple[str, int]:
        with self._cond:
            if not self._cond.wait_for(lambda: execution_id in self._listening, timeout):
                raise FlowdeskError(f"execution #{execution_id} did not start its debugger within {timeout:g} s")
            return self._listening[execution_id]

    # -- events ---------------------------------------------------------------------------
    def _on_dap_event(self, name: str, body: dict) -> None:
        # Runs on the DAP reader thread, which must never wait for a response itself: work
        # that needs requests (skipping a handler's def line) goes to the session's thread.
        if name == "stopped":
            self._worker.submit(self._stopped, body)
        elif name == "continued":
            with self._cond:
                self.last_stop = None
            self._emit("continued", body)
        elif name == "output" and body.get("category") in ("console", "stdout", "stderr"):
            self._emit("output", body.get("output", ""))
        elif name in ("terminated", "exited", "connection_closed"):
            with self._cond:
                first = not self.terminated
                self.terminated = True
                self.last_stop = None
                self._cond.notify_all()
            if first:
                self._emit("terminated", body)

    def _stopped(self, body: dict) -> None:
        reason, thread = body.get("reason", ""), body.get("threadId", 0)
        exception = ""
        if reason == "exception":
            # debugpy puts the type first in "text" and the message in "description".
            kind = (body.get("text") or "Exception").split()[0]
            exception = f"{kind}: {body.get('description', '')}".rstrip(": ")
        self.thread_id = thread
        if reason == "step" and self._at_handler_def():
            # Stepping into a flow lands on its "def handler" line first; one more step puts
            # the user on the handler's first statement, which is what Step In promises.
            self.client.send("stepIn", {"threadId": thread})
            return
        self._restore_after_run_to_cursor()
        stop = StopInfo(reason, thread, body.get("description", ""), exception)
        with self._cond:
            self.last_stop = stop
            self._stops += 1
            self._cond.notify_all()
        self._emit("stopped", stop)

    def _at_handler_def(self) -> bool:
        try:
            frame = self.stack()[0]
        except (DapError, IndexError):
            return False
        if frame.flow is None:
            return False
        lines = Path(frame.path).read_text(encoding="utf-8").splitlines()
        return 0 < frame.line <= len(lines) and lines[frame.line - 1].lstrip().startswith("def handler")

    def _emit(self, kind: str, payload: Any) -> None:
        for listener in list(self._listeners):
            listener(kind, payload)

    def wait_for_stop(self, timeout: float = 15.0) -> StopInfo | None:
        """Block until the debuggee is stopped (at once if it is); None if the session ended."""
        with self._cond:
            self._cond.wait_for(lambda: self.last_stop is not None or self.terminated, timeout)
            if self.last_stop is not None:
                return self.last_stop
            if self.terminated:
                return None
            raise DapError(f"the flow did not stop within {timeout:g} s")

    @property
    def stop_count(self) -> int:
        return self._stops

    # -- breakpoints ----------------------------------------------------------------------
    def set_breakpoints(self, path: str, specs: list[dict]) -> list[dict]:
        self._breakpoints[path] = list(specs)
        body = self.client.request("setBreakpoints", {"source": {"path": path}, "breakpoints": specs})
        return body.get("breakpoints", [])

    # -- stepping -------------------------------------------------------------------------
    def continue_(self) -> None:
        self._resume("continue")

    def step_over(self) -> None:
        self._resume("next")

    def step_in(self) -> None:
        self._resume("stepIn")

    def step_out(self) -> None:
        self._resume("stepOut")

    def pause(self) -> None:
        thread = self.thread_id or self._main_thread()
        self.client.request("pause", {"threadId": thread})

    def run_to_cursor(self, path: str, line: int) -> None:
        """Continue to ``line`` of ``path`` (a one-shot breakpoint), stopping earlier at others."""
        original = self._breakpoints.get(path, [])
        self.set_breakpoints(path, original + [{"line": line}])
        self._breakpoints[path] = original
        self._temporary = (path, original)
        self.continue_()

    def _restore_after_run_to_cursor(self) -> None:
        if self._temporary is not None:
            path, original = self._temporary
            self._temporary = None
            self.client.send("setBreakpoints", {"source": {"path": path}, "breakpoints": original})

    def _resume(self, command: str) -> None:
        if self.thread_id is None:
            raise DapError("the flow is not stopped")
        with self._cond:
            self.last_stop = None
        self.client.request(command, {"threadId": self.thread_id})

    def _main_thread(self) -> int:
        threads = self.client.request("threads").get("threads", [])
        main = next((t for t in threads if t.get("name") == "MainThread"), threads[0] if threads else None)
        if main is None:
            raise DapError("the flow has no thread to pause")
        return main["id"]

    # -- inspecting -----------------------------------------------------------------------
    def stack(self) -> list[Frame]:
        """The user's frames, innermost first: flow handlers and their callees, not the engine."""
        body = self.client.request("stackTrace", {"threadId": self.thread_id, "startFrame": 0, "levels": 200})
        flows_dir = str(self.engine.workspace.flows_dir) + os.sep
        frames = []
        for raw in body.get("stackFrames", []):
            path = (raw.get("source") or {}).get("path") or ""
            resolved = str(Path(path).resolve()) if path else ""
            if not resolved or resolved.startswith(_HIDDEN_ROOTS) or not Path(resolved).is_file():
                continue  # the engine, the standard library, installed packages, "<string>"
            flow = Path(resolved).stem if resolved.startswith(flows_dir) else None
            frames.append(Frame(raw["id"], raw.get("name", "?"), resolved, raw.get("line", 0), flow))
        return frames

    def scopes(self, frame_id: int) -> list[Scope]:
        body = self.client.request("scopes", {"frameId": frame_id})
        return [Scope(s["name"], s["variablesReference"]) for s in body.get("scopes", [])]

    def variables(self, ref: int) -> list[Variable]:
        body = self.client.request("variables", {"variablesReference": ref})
        return [Variable(v["name"], v.get("value", ""), v.get("type", ""), v.get("variablesReference", 0))
                for v in body.get("variables", [])]

    def evaluate(self, expression: str, frame_id: int | None, context: str = "repl") -> Variable:
        arguments: dict = {"expression": expression, "context": context}
        if frame_id is not None:
            arguments["frameId"] = frame_id
        body = self.client.request("evaluate", arguments)
        return Variable(expression, body.get("result", ""), body.get("type", ""), body.get("variablesReference", 0))

    # -- ending ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop debugging: cancel the execution tree (its process, and so the adapter, ends)."""
        with self._cond:
            self.last_stop = None
        if self.execution_id is not None:
            self.engine.cancel(self.execution_id, "cancelled: debugging stopped")
        if self.client is not None:
            self.client.close()
        self._worker.shutdown(wait=False)
