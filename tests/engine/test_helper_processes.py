"""Flowdesk's helper processes (flow workers, the IDE's analysis process) start from any main
program, even one with no file to re-import (a script piped into ``python -``): they are
named ``flowdesk-…`` and skip re-importing the parent's main module."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os
from engine_core.runtime.pool import mp_context
for name in ("flowdesk-analysis", "flowdesk-worker"):
    process = mp_context().Process(target=os.getpid, name=name)
    process.start()
    process.join(20)
    print(name, process.exitcode)
"""


def test_helpers_start_from_a_script_read_from_stdin(tmp_path):
    done = subprocess.run([sys.executable, "-"], input=SCRIPT, capture_output=True, text=True, cwd=tmp_path,
                          timeout=60)
    assert done.stdout.split("\n")[:2] == ["flowdesk-analysis 0", "flowdesk-worker 0"], done.stderr
