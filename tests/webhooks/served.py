"""`flowdesk serve` started for a test as a user starts it (a separate process on a free
port), and plain HTTP calls to it with the standard library."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from engine_core.webhooks.records import URL_PREFIX

START_S = 60


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class Served:
    def __init__(self, workspace: Path, *extra: str):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine_core.cli", "serve", "-w", str(workspace), "--port", "0", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.process.stdout.readline()  # the first line says where it listens
        if "listening on http://127.0.0.1:" not in line:
            self.process.kill()
            raise AssertionError(f"flowdesk serve did not start: {line!r} {self.process.stderr.read()}")
        self.port = int(line.split("127.0.0.1:", 1)[1].split("/", 1)[0])

    def path(self, name: str, rest: str = "", query: str = "") -> str:
        return f"{URL_PREFIX}/{name}/call{rest}" + (f"?{query}" if query else "")

    def call(self, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None,
             connection: http.client.HTTPConnection | None = None) -> Answer:
        conn = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=START_S)
        try:
            conn.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=headers or {})
            response = conn.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            if connection is None:
                conn.close()

    def children(self) -> list[int]:
        """Processes started by the server (its engine's forkserver and workers)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def stop(self) -> tuple[int, str, str]:
        """Ctrl+C, as a user stops it; returns (exit code, rest of stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=START_S)
        return self.process.returncode, out, err
