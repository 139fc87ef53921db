#!/usr/bin/env python3
"""Debugger benchmark (issue: debugging flows).

On the same flow body, in the same run:
(a) raw debugpy: `python -m debugpy --listen ... --wait-for-client script.py`, driven by a
    minimal DAP script: attach, one breakpoint, 20 steps;
(b) Flowdesk's Debug: DebugSession on a warm engine, one breakpoint, 20 steps, reading the
    top frame's variables after each step (as the Debug panel does).
Prints time to first stop and per-step latency p50 for both, and the ratios.

Run from the set-up venv:  python tests/bench/bench_debugger.py
The last line printed is one JSON object with the figures."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 20
BODY = "\n".join(f"    v{i} = {i} * 2" for i in range(30))
FLOW = f"def handler(system, this, inputs):\n{BODY}\n    return None\n"
RAW_SCRIPT = f"def handler(system, this, inputs):\n{BODY}\n    return None\n\nhandler(None, None, {{}})\n"
BREAK_LINE = 2


class MiniDap:
    """The least a DAP client needs: framed JSON over a socket, blocking reads."""

    def __init__(self, port: int):
        deadline = time.monotonic() + 20
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        self.seq = 0
        self.buffer = b""

    def send(self, command: str, arguments: dict | None = None) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments or {}}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def read(self) -> dict:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        header, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        length = int(header.split(b":")[1])
        while len(self.buffer) < length:
            self.buffer += self.sock.recv(65536)
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return json.loads(body)

    def until(self, predicate) -> dict:
        while True:
            message = self.read()
            if predicate(message):
                return message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_raw(folder: Path) -> tuple[float, float]:
    script = folder / "raw_flow.py"
    script.write_text(RAW_SCRIPT)
    port = free_port()
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-Xfrozen_modules=off", "-m", "debugpy", "--listen", f"127.0.0.1:{port}",
                                "--wait-for-client", str(script)], env=env)
    try:
        dap = MiniDap(port)
        dap.send("initialize", {"adapterID": "debugpy", "linesStartAt1": True, "pathFormat": "path"})
        dap.send("attach", {"justMyCode": True})
        dap.until(lambda m: m.get("event") == "initialized")
        dap.send("setBreakpoints", {"source": {"path": str(script)}, "breakpoints": [{"line": BREAK_LINE}]})
        dap.send("configurationDone")
        stopped = dap.until(lambda m: m.get("event") == "stopped")
        first_stop = time.perf_counter() - started
        thread = stopped["body"]["threadId"]
        steps = []
        for _ in range(STEPS):
            t = time.perf_counter()
            dap.send("next", {"threadId": thread})
            dap.until(lambda m: m.get("event") == "stopped")
            steps.append((time.perf_counter() - t) * 1000)
        dap.send("disconnect", {"terminateDebuggee": True})
    finally:
        process.kill()
        process.wait()
    return first_stop, statistics.median(steps)


def bench_flowdesk(folder: Path) -> tuple[float, float]:
    from engine_core import Engine
    from engine_core.debug import DebugSession

    workspace = folder / "workspace"
    (workspace / "flows").mkdir(parents=True)
    (workspace / "flows" / "Stepper.py").write_text(FLOW)
    with Engine(workspace) as engine:
        engine.run("Stepper")  # the IDE's engine is running long before the user presses Debug
        session = DebugSession(engine)
        path = str(engine.workspace.flow_path("Stepper"))
        started = time.perf_counter()
        session.start("Stepper", {}, {path: [{"line": BREAK_LINE}]})
        session.wait_for_stop(30)
        first_stop = time.perf_counter() - started
        steps = []
        for _ in range(STEPS):
            t = time.perf_counter()
            session.step_over()
            session.wait_for_stop()
            frame = session.stack()[0]
            session.variables(session.scopes(frame.id)[0].ref)
            steps.append((time.perf_counter() - t) * 1000)
        session.stop()
    return first_stop, statistics.median(steps)


def main() -> None:
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    with tempfile.TemporaryDirectory() as tmp:
        raw_first, raw_step = bench_raw(Path(tmp))
        first, step = bench_flowdesk(Path(tmp))
    figures = {
        "raw_first_stop_s": round(raw_first, 3), "first_stop_s": round(first, 3),
        "first_stop_ratio": round(first / raw_first, 2),
        "raw_step_ms": round(raw_step, 1), "step_ms": round(step, 1), "step_ratio": round(step / raw_step, 2),
    }
    print(f"time to first stop: raw debugpy {raw_first:.3f} s, Flowdesk {first:.3f} s "
          f"(ratio {figures['first_stop_ratio']}, target <= 1.2)")
    print(f"step p50 over {STEPS} steps: raw debugpy {raw_step:.1f} ms, Flowdesk {step:.1f} ms incl. reading the "
          f"top frame's variables (ratio {figures['step_ratio']}, target <= 1.2)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
