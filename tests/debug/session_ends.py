"""What a debug session leaves behind, for tests/debug and tests/app/test_debug_ui.py."""

import time

# The product promises: whatever ends a session, its execution tree ends and its processes
# (the debugged worker, debugpy's adapter) are gone within 2 s. The helpers below poll up to
# that bound; they never sleep to synchronise.

END_BOUND_S = 2.0
ACTIVE = ("queued", "running", "paused")


def debug_processes(session) -> dict[str, int]:
    """The processes behind a started session: {"debuggee": pid, "adapter": pid}."""
    from engine_core.debug import processes

    pids = {"adapter": processes.listener_pid(session.address[1])}
    deadline = time.monotonic() + 5
    while session.debuggee_pid is None and time.monotonic() < deadline:
        time.sleep(0.01)  # debugpy's "process" event follows the attach; not a timing assertion
    pids["debuggee"] = session.debuggee_pid
    assert all(pids.values()), f"could not find the session's processes: {pids}"
    return pids


def alive(pids) -> list[int]:
    from engine_core.lifeline import alive as running

    return [pid for pid in pids if running(pid)]


def poll(condition, bound: float = END_BOUND_S, interval: float = 0.02):
    """Poll ``condition()`` until it returns something truthy or ``bound`` seconds pass;
    returns its last value."""
    deadline = time.monotonic() + bound
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def assert_nothing_left(engine, pids, since: float) -> None:
    """Within END_BOUND_S of ``since``: no process of the session alive, no execution of the
    store still active."""
    remaining = max(0.0, since + END_BOUND_S - time.monotonic())
    poll(lambda: not alive(pids.values()), remaining)
    assert alive(pids.values()) == [], f"processes left {END_BOUND_S} s after the session ended: {pids}"
    remaining = max(0.0, since + END_BOUND_S - time.monotonic())
    poll(lambda: not [r for r in engine.store.executions() if r["status"] in ACTIVE], remaining)
    stranded = [(r["id"], r["flow"], r["status"]) for r in engine.store.executions() if r["status"] in ACTIVE]
    assert stranded == [], f"executions still active {END_BOUND_S} s after the session ended"
