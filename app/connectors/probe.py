""""Test connection" for the record form: the connector runs in a child process (``python -m
app.connectors.probe``), never in the IDE's, because a connector may hang (a firewall that drops
packets, an SSH server that never answers) or crash. The child gets the inputs on stdin (not on
the command line, where other users could read secrets), prints one JSON line, and is killed
after :data:`TIMEOUT_S`. Secrets are masked in everything that comes back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TIMEOUT_S = 30
SUMMARY_CHARS = 300


class ProbeResult:
    def __init__(self, ok: bool, message: str):
        self.ok, self.message = ok, message

    def __repr__(self) -> str:
        return f"ProbeResult(ok={self.ok}, message={self.message!r})"


def test_connection(workspace_root: str, record: str, connector_type: str, inputs: dict,
                    timeout: float = TIMEOUT_S) -> ProbeResult:
    """Run the connector with ``inputs`` in a child process (blocking: call it off the GUI
    thread). ``record``: stored secrets of that record fill in the secret inputs left empty."""
    payload = json.dumps({"workspace": workspace_root, "record": record, "type": connector_type,
                          "inputs": inputs})
    project = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [project, os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run([sys.executable, "-m", "app.connectors.probe"], input=payload, text=True,
                              capture_output=True, timeout=timeout, env=env, cwd=workspace_root)
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"no answer within {timeout:g} s: the connection was stopped")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = " ".join(done.stderr.strip().splitlines()[-1:]) or f"exit code {done.returncode}"
        return ProbeResult(False, _mask(connector_type, inputs, f"the connector's process failed: {tail}"))
    answer = json.loads(lines[-1])
    return ProbeResult(bool(answer["ok"]), _mask(connector_type, inputs, answer["message"]))


def _mask(connector_type: str, inputs: dict, text: str) -> str:
    from engine_core import connectors, redact

    return redact.mask(text, connectors.secret_values(connector_type, inputs)) or ""


class _Probe:
    """The ``this`` a connector gets here: logs and outputs are collected, nothing else."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self.outputs: dict = {}

    def log(self, message="", *args, **kwargs) -> None:
        self.logs.append(str(message))

    def set_output(self, key, value=None) -> None:
        if isinstance(key, dict):
            self.outputs.update(key)
        else:
            self.outputs[key] = value

    def __getattr__(self, name):
        raise AttributeError(f"this.{name} is not available while testing a connection")


def _summary(outputs) -> str:
    if not isinstance(outputs, dict):
        return "no outputs" if outputs is None else repr(outputs)[:SUMMARY_CHARS]
    parts = []
    for key, value in outputs.items():
        shown = json.dumps(value, default=str, ensure_ascii=False)
        parts.append(f"{key}={shown[:60] + '…' if len(shown) > 60 else shown}")
    text = ", ".join(parts) or "no outputs"
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1] + "…"


def _main() -> int:
    from engine_core import connectors, redact
    from engine_core.connectors import records

    request = json.loads(sys.stdin.read())
    kind, inputs = request["type"], dict(request["inputs"])
    secrets: list[str] = []
    try:
        if request.get("record") and records.exists(request["workspace"], request["record"]):
            stored_kind, stored = records.load(request["workspace"], request["record"])
            if stored_kind.upper() == str(kind).upper():
                inputs = {**stored, **{k: v for k, v in inputs.items() if v not in (None, "")}}
        secrets = connectors.secret_values(kind, inputs)
        spec = connectors.spec(kind)
        spec.check(inputs)
        this = _Probe()
        outputs = spec.run(this, inputs)
        outputs = outputs if outputs is not None else this.outputs
        answer = {"ok": True, "message": redact.mask(_summary(outputs), secrets)}
    except BaseException as exc:  # noqa: BLE001 - whatever the connector raised is the answer
        answer = {"ok": False, "message": redact.mask(str(exc) or type(exc).__name__, secrets)}
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
