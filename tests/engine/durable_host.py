"""An engine in a process of its own, to be killed: ``python durable_host.py SPEC_JSON``.

SPEC: ``{"workspace": DIR, "db_url": URL or null, "roots": [[FLOW, INPUTS], ...],
"options": {EngineOptions fields}, "close_after": seconds or null}``. The host starts an
``Engine`` on the workspace, submits the roots, prints ``{"ids": [...], "pid": PID}`` on one
line and serves until it is killed (``os.killpg(pid, SIGKILL)``: it runs in a session of its
own, see :class:`Host`), or, with ``close_after``, closes the engine cleanly after that many
seconds (a clean stop suspends durable executions) and exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def main(spec: dict) -> None:
    from engine_core import Engine, EngineOptions

    engine = Engine(spec["workspace"], db_url=spec.get("db_url"), options=EngineOptions(**spec.get("options", {})))
    engine.start()
    ids = engine.submit_many([(flow, inputs, None) for flow, inputs in spec.get("roots", [])])
    print(json.dumps({"ids": ids, "pid": os.getpid()}), flush=True)
    if spec.get("close_after") is not None:
        time.sleep(float(spec["close_after"]))
        engine.close()
        print(json.dumps({"closed": True}), flush=True)
        return
    while True:
        time.sleep(60)


class Host:
    """A running ``durable_host.py`` (its own process group); ``ids`` are the roots it submitted."""

    def __init__(self, workspace, db_url: str | None, roots: list, *, options: dict | None = None,
                 close_after: float | None = None, env: dict | None = None):
        spec = {"workspace": str(workspace), "db_url": db_url, "roots": roots,
                "options": {"warm_workers": 1, "memory_limit_mb": 1024, **(options or {})},
                "close_after": close_after}
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), json.dumps(spec)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True, env=env)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise AssertionError(f"the engine host ended before submitting: {self.proc.stderr.read()[-3000:]}")
        self.ids = json.loads(line)["ids"]

    def kill9(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def wait_closed(self, timeout: float = 30) -> None:
        self.proc.wait(timeout)
        assert self.proc.returncode == 0, self.proc.stderr.read()[-3000:]

    def __enter__(self) -> "Host":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.proc.poll() is None:
            self.kill9()
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()


def wait_for(condition, what: str, timeout: float = 30, poll: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
