"""A debug session: one flow tree run in development mode under debugpy, driven through our
DAP client. The UI (or a test, or a script) talks to this; it knows nothing of Qt.

Children of a debugged flow run inside the same process (see ``engine_core.worker.runner``),
so one DAP session shows the whole tree: the child's handler frames sit above the parent's.

A session never strands its execution: whatever ends it (Stop, the debuggee or the adapter
dying, a lost connection, a failed start) ends the execution tree too (``_finish``), and the
adapter process with it. The debuggee does its part as well (``debuggee``): it ends its
execution when its debugger goes away instead of running on unwatched."""

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
from . import processes
from .dap_client import DapClient, DapError
from .stops import StopReview

# Our own code is "library" code for the debugger: stepping never enters it, and its frames
# are hidden from the call stack, so the user sees only flows (and their own modules).
_HIDDEN_ROOTS = tuple(str(Path(p).resolve()) + os.sep for p in (
    Path(engine_core.__file__).parent, Path(flow_api.__file__).parent,
    sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
))
_LIBRARY_RULES = [{"module": "engine_core", "include": False}, {"module": "flow_api", "include": False}]

STOPPED_MESSAGE = "cancelled: debugging stopped"
# After the debuggee or the adapter went away, how long the engine gets to see the execution's
# end by itself (the worker's own report, or its death) before the session cancels it.
_END_GRACE_S = 0.5


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
        self.debuggee_pid: int | None = None  # the worker process, from debugpy's "process" event
        self.end_reason: str | None = None
        self._ending = False  # _finish has begun (once per session)
        self._ended = threading.Event()  # _finish has done its work
        self._review = StopReview(self)
        self._frames: list[Frame] | None = None  # the stack of the current stop, read once
        self._unsubscribe: Callable[[], None] | None = None
        self._tree: set[int] = set()  # the executions of the debugged tree
        self.journal_ended: ev.JournalEnded | None = None  # a replay paused at its recording's end

    # -- starting -------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[str, Any], None]) -> None:
        """``listener(kind, payload)``: kinds "stopped" (StopInfo), "continued", "output" (str),
        "journal_ended" (events.JournalEnded: a replay paused at the end of its recording),
        "terminated". Called on a background thread."""
        self._listeners.append(listener)

    def start(self, flow: str, inputs: dict | None = None, breakpoints: dict[str, list[dict]] | None = None,
              timeout: float = 30.0) -> int:
        """Start ``flow`` in development mode, attach, set breakpoints; returns the execution id.
        The flow runs (to its first breakpoint) once this returns."""
        return self._start(lambda: self.engine.submit(flow, inputs, mode="development"), breakpoints, timeout)

    def start_replay(self, execution_id: int, breakpoints: dict[str, list[dict]] | None = None,
                     timeout: float = 30.0) -> int:
        """Replay stored execution ``execution_id`` under the debugger (every flow API call answered
        from its journal); returns the replay's id. At its recording's end it pauses: "journal_ended"."""
        return self._start(lambda: self.engine.replay(execution_id, debug=True), breakpoints, timeout)

    def _start(self, create: Callable[[], int], breakpoints: dict[str, list[dict]] | None, timeout: float) -> int:
        self._unsubscribe = self.engine.subscribe(self._on_engine_event)  # until _finish
        try:
            self.execution_id = create()
            self.address = self._wait_listening(self.execution_id, timeout)
            self.client = DapClient(*self.address)
            self.client.add_listener(self._on_dap_event)
            attached = _handshake(self.client, breakpoints or {}, self._exception_filters(), timeout)
            self._breakpoints.update({path: list(specs) for path, specs in (breakpoints or {}).items()})
            try:
                attached.result(timeout)
            except TimeoutError:
                raise DapError(f"the debugger did not answer attach within {timeout:g} s") from None
            if self._ending:
                raise DapError("debugging was stopped while it started")
        except BaseException as exc:
            # Nothing may stay behind a start that failed (or was stopped): not the execution
            # waiting for a debugger, not the adapter.
            message = STOPPED_MESSAGE if self._ending else f"{STOPPED_MESSAGE} (the debugger could not attach: {exc})"
            if self.execution_id is not None:
                end_execution(self.engine, self.execution_id, message, grace=0.0)
            self._finish(message, grace=0.0)
            raise
        return self.execution_id

    def continue_replay(self, live: bool) -> None:
        """After "journal_ended": ``live`` goes on with calls acting for real, else the replay stops."""
        ended, self.journal_ended = self.journal_ended, None
        if ended is None:
            raise DapError("the replay has not reached the end of its recording")
        self.engine.continue_replay(ended.id, live=live)

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
        elif isinstance(event, ev.ExecutionCreated) and event.root_id == self.execution_id:
            self._tree.add(event.id)  # replayed children run inline: their journal ends count too
        elif isinstance(event, ev.JournalEnded) and (event.id == self.execution_id or event.id in self._tree):
            self.journal_ended = event
            self._emit("journal_ended", event)

    def _wait_listening(self, execution_id: int, timeout: float) -> tuple[str, int]:
        with self._cond:
            if not self._cond.wait_for(lambda: execution_id in self._listening or self._ending, timeout):
                raise FlowdeskError(f"execution #{execution_id} did not start its debugger within {timeout:g} s")
            if execution_id not in self._listening:
                raise DapError("debugging was stopped while it started")
            return self._listening[execution_id]

    # -- events ---------------------------------------------------------------------------
    def _on_dap_event(self, name: str, body: dict) -> None:
        # Runs on the DAP reader thread, which must never wait for a response itself: work
        # that needs requests (reviewing a stop, see stops.py) goes to the session's thread.
        if name == "stopped":
            if not self._ending:
                self._worker.submit(self._stopped, body)
        elif name == "process":
            self.debuggee_pid = body.get("systemProcessId")
        elif name == "continued":
            with self._cond:
                self.last_stop = None
            self._emit("continued", body)
        elif name == "output" and body.get("category") in ("console", "stdout", "stderr"):
            self._emit("output", body.get("output", ""))
        elif name in ("terminated", "exited", "connection_closed"):
            # The debuggee ended (the engine sees it too), or the adapter or our connection to
            # it is gone: either way the session is over, and so must the execution be.
            reason = ("the debug adapter's connection was lost" if name == "connection_closed"
                      else "the debugged process ended")
            threading.Thread(target=self._finish, args=(f"{STOPPED_MESSAGE} ({reason})",),
                             kwargs={"grace": _END_GRACE_S}, name="debug-session-end", daemon=True).start()

    def _stopped(self, body: dict) -> None:
        reason, thread = body.get("reason", ""), body.get("threadId", 0)
        exception = ""
        if reason == "exception":
            # debugpy puts the type first in "text" and the message in "description".
            kind = (body.get("text") or "Exception").split()[0]
            exception = f"{kind}: {body.get('description', '')}".rstrip(": ")
        self.thread_id = thread
        self._frames = None
        if self._ending:
            return
        try:
            reason, go_on = self._review.review(reason)
            if go_on is not None:  # not a stop to show: carry on as the user asked
                self._frames = None
                self.client.send(go_on, {"threadId": thread})
                return
            self._review.clear_one_shot()
            self._review.shown(self.stack())
        except DapError:
            return  # the session is ending: _finish reports that
        stop = StopInfo(reason, thread, body.get("description", ""), exception)
        with self._cond:
            if self._ending:
                return
            self.last_stop = stop
            self._stops += 1
            self._cond.notify_all()
        self._emit("stopped", stop)

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

    def wait_ended(self, timeout: float = 15.0) -> bool:
        """Block until the session has ended (its execution and adapter with it); False if it
        is still going after ``timeout`` seconds."""
        return self._ended.wait(timeout)

    @property
    def stop_count(self) -> int:
        return self._stops

    # -- breakpoints ----------------------------------------------------------------------
    def breakpoints_of(self, path: str) -> list[dict]:
        """The breakpoints set in ``path`` (the user's, not a step's temporary one)."""
        return list(self._breakpoints.get(path, []))

    def set_breakpoints(self, path: str, specs: list[dict]) -> list[dict]:
        self._breakpoints[path] = list(specs)
        body = self.client.request("setBreakpoints", {"source": {"path": path}, "breakpoints": specs})
        return body.get("breakpoints", [])[:len(specs)]

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
        self._review.last_command = None
        thread = self.thread_id or _main_thread(self.client)
        self.client.request("pause", {"threadId": thread})

    def run_to_cursor(self, path: str, line: int) -> None:
        """Continue to ``line`` of ``path`` (a one-shot breakpoint), stopping earlier at others."""
        self._review.one_shot(path, line)
        self.continue_()

    def _resume(self, command: str) -> None:
        if self.thread_id is None:
            raise DapError("the flow is not stopped")
        if self._ending:
            raise DapError("the debug session has ended")
        with self._cond:
            self.last_stop = None
        self._review.last_command = command
        self._frames = None
        # Reads of the stop being left (the Debug panel's variables) lose their meaning.
        self.client.fail_pending(("stackTrace", "scopes", "variables", "evaluate"), "the flow moved on")
        self.client.request(command, {"threadId": self.thread_id})

    # -- inspecting -----------------------------------------------------------------------
    def stack(self) -> list[Frame]:
        """The user's frames, innermost first: flow handlers and their callees, not the engine.
        Read once per stop (the Debug panel and the session's own checks share it)."""
        frames = self._frames
        if frames is not None:
            return list(frames)
        body = self._read("stackTrace", {"threadId": self.thread_id, "startFrame": 0, "levels": 200})
        frames = _user_frames(body.get("stackFrames", []), str(self.engine.workspace.flows_dir) + os.sep)
        if self.last_stop is not None or threading.current_thread().name.startswith("debug-session"):
            self._frames = frames
        return list(frames)

    def _read(self, command: str, arguments: dict, timeout: float = 15.0) -> dict:
        """A request about the stopped state. One that crossed a resume (the panel asked for
        variables as the user pressed F10) is answered by nobody: fail it at once."""
        future = self.client.send(command, arguments)
        if self.last_stop is None and not threading.current_thread().name.startswith("debug-session"):
            self.client.fail_pending((command,), "the flow is running")
        try:
            return future.result(timeout)
        except TimeoutError:
            raise DapError(f"the debugger did not answer {command} within {timeout:g} s") from None

    def scopes(self, frame_id: int) -> list[Scope]:
        body = self._read("scopes", {"frameId": frame_id})
        return [Scope(s["name"], s["variablesReference"]) for s in body.get("scopes", [])]

    def variables(self, ref: int) -> list[Variable]:
        body = self._read("variables", {"variablesReference": ref})
        return [Variable(v["name"], v.get("value", ""), v.get("type", ""), v.get("variablesReference", 0))
                for v in body.get("variables", [])]

    def evaluate(self, expression: str, frame_id: int | None, context: str = "repl") -> Variable:
        arguments: dict = {"expression": expression, "context": context}
        if frame_id is not None:
            arguments["frameId"] = frame_id
        body = self._read("evaluate", arguments)
        return Variable(expression, body.get("result", ""), body.get("type", ""), body.get("variablesReference", 0))

    # -- ending ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop debugging: the execution tree is cancelled ("cancelled: debugging stopped"), its
        worker killed, the adapter gone when this returns."""
        self._finish(STOPPED_MESSAGE, grace=0.0)

    def _finish(self, message: str, *, grace: float) -> None:
        """End the session and everything it started, once, whatever ended it. ``message`` is
        the execution's end if it has to be cancelled; ``grace`` is how long the engine gets to
        end it by itself first (the worker reports its end, or dies)."""
        with self._cond:
            first, self._ending = not self._ending, True
            self.last_stop = None
            self._cond.notify_all()
        if not first:
            self._ended.wait(5.0)  # a concurrent end (Stop racing the adapter's "terminated")
            return
        self.end_reason = message
        if self._unsubscribe is not None:
            self._unsubscribe()
        try:
            if self.execution_id is not None:
                end_execution(self.engine, self.execution_id, message, grace)
        finally:
            if self.client is not None:
                self.client.close()
            if self.address is not None:
                processes.end_listener(self.address[1], within=1.0)
            with self._cond:
                self.terminated = True
                self._cond.notify_all()
            self._worker.shutdown(wait=False)
            self._ended.set()
            self._emit("terminated", {"reason": message})


def _handshake(client: DapClient, breakpoints: dict[str, list[dict]], filters: list[str], timeout: float):
    """DAP's start (initialize, attach, breakpoints, configurationDone); returns attach's future:
    debugpy answers attach only once the configuration is done."""
    client.request("initialize", {
        "clientID": "flowdesk", "clientName": "Flowdesk", "adapterID": "debugpy", "pathFormat": "path",
        "linesStartAt1": True, "columnsStartAt1": True, "supportsVariableType": True,
    }, timeout)
    attached = client.send("attach", {"justMyCode": True, "rules": _LIBRARY_RULES, "subProcess": False})
    client.wait_event("initialized", timeout)
    for path, specs in breakpoints.items():
        client.request("setBreakpoints", {"source": {"path": path}, "breakpoints": specs}, timeout)
    client.request("setExceptionBreakpoints", {"filters": filters}, timeout)
    client.request("configurationDone", None, timeout)
    return attached


def _user_frames(raw_frames: list[dict], flows_dir: str) -> list[Frame]:
    """The frames a user debugs (flows and their own modules): not the engine, the standard
    library, installed packages or "<string>" code."""
    frames = []
    for raw in raw_frames:
        path = (raw.get("source") or {}).get("path") or ""
        resolved = str(Path(path).resolve()) if path else ""
        if not resolved or resolved.startswith(_HIDDEN_ROOTS) or not Path(resolved).is_file():
            continue
        flow = Path(resolved).stem if resolved.startswith(flows_dir) else None
        frames.append(Frame(raw["id"], raw.get("name", "?"), resolved, raw.get("line", 0), flow))
    return frames


def end_execution(engine, execution_id: int, message: str, grace: float) -> None:
    """See ``execution_id`` ended: give the engine ``grace`` seconds to end it by itself (the
    worker's own report, or its death), then cancel it with ``message``."""
    try:
        if grace > 0:
            try:
                engine.wait(execution_id, timeout=grace)
                return
            except TimeoutError:
                pass
        engine.cancel(execution_id, message)
        engine.wait(execution_id, timeout=2.0)
    except Exception:  # noqa: BLE001 - the engine is closing (window closed): it ends the tree itself
        pass


def _main_thread(client: DapClient) -> int:
    threads = client.request("threads").get("threads", [])
    main = next((t for t in threads if t.get("name") == "MainThread"), threads[0] if threads else None)
    if main is None:
        raise DapError("the flow has no thread to pause")
    return main["id"]
