"""Helpers for tests: a workspace made for a test, and the CLI run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"


class FlowWorkspace:
    """A workspace folder in tmp_path, starting as a copy of the example workspace."""

    def __init__(self, root: Path):
        self.root = root

    def write_flow(self, name: str, body: str) -> Path:
        path = self.root / "flows" / f"{name}.py"
        path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
        return path

    def __str__(self) -> str:
        return str(self.root)

    def __fspath__(self) -> str:
        return str(self.root)


def run_cli(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """Run the ``flowdesk`` command line as a user would, in a separate process."""
    return subprocess.run([sys.executable, "-m", "engine_core.cli", *args], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def run_cli_json(*args: str, **kwargs) -> tuple[int, dict]:
    result = run_cli(*args, "--json", **kwargs)
    assert result.stdout, f"no output; stderr: {result.stderr}"
    return result.returncode, json.loads(result.stdout)
