"""A helper's owner that died but was not reaped yet (a zombie) counts as gone: otherwise the
IDE's helpers outlive an IDE whose parent has not waited for it yet (seen: >90 s)."""

from __future__ import annotations

import subprocess
import sys
import time

from engine_core.lifeline import owner_gone


def test_a_running_owner_is_not_gone_and_an_unreaped_dead_one_is():
    owner = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert not owner_gone(owner.pid)
        owner.stdin.close()  # it exits; nobody waits for it yet, so it stays a zombie
        deadline = time.monotonic() + 5
        while not owner_gone(owner.pid):
            assert time.monotonic() < deadline, "the exited owner was never seen as gone"
            time.sleep(0.01)
        assert owner.poll() == 0  # it had exited but was reaped only now
        assert owner_gone(owner.pid)
    finally:
        owner.kill()
        owner.wait()
