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
import uuid
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
    """A running ``durable_host.py`` (its own process group); ``ids`` are the roots it submitted.
    ``options`` go over one warm worker and 1024 MB. Its stderr is piped, or with ``log_dir``
    written to a file there, to be read while it runs (shown when a wait times out)."""

    def __init__(self, workspace, db_url: str | None, roots: list, *, options: dict | None = None,
                 close_after: float | None = None, env: dict | None = None, log_dir: Path | None = None):
        spec = {"workspace": str(workspace), "db_url": db_url, "roots": roots,
                "options": {"warm_workers": 1, "memory_limit_mb": 1024, **(options or {})},
                "close_after": close_after}
        self.stderr_path = None if log_dir is None else Path(log_dir) / f"host-{uuid.uuid4().hex[:6]}.stderr"
        self._stderr = subprocess.PIPE if self.stderr_path is None else open(self.stderr_path, "w")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), json.dumps(spec)],
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     start_new_session=True, env=env)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise AssertionError(f"the engine host ended before submitting: {self.stderr()}")
        self.ids = json.loads(line)["ids"]

    def stderr(self) -> str:
        """The end of its stderr: so far (``log_dir``), or all of it once it has ended (piped)."""
        if self.stderr_path is None:
            return self.proc.stderr.read()[-3000:]
        return self.stderr_path.read_text(errors="replace")[-3000:]

    def dead(self) -> str | None:
        return f"the engine host exited with {self.proc.returncode}" if self.proc.poll() is not None else None

    def kill9(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def wait_closed(self, timeout: float = 30) -> None:
        self.proc.wait(timeout)
        assert self.proc.returncode == 0, self.stderr()

    def ensure_dead(self) -> None:
        """Killed if still running; its pipes and stderr file closed."""
        if self.proc.poll() is None:
            self.kill9()
        for stream in (self.proc.stdout, self.proc.stderr, self._stderr):
            if stream not in (None, subprocess.PIPE):
                stream.close()

    def __enter__(self) -> "Host":
        return self

    def __exit__(self, *exc_info) -> None:
        self.ensure_dead()


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
