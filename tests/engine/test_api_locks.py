"""Setting locks (flows.md, the ``system.setting`` row: ``acquire(timeout=None)`` /
``release()`` — a lock held across executions and processes, released when its holder ends)."""

import time

from api_support import WAIT_S, events  # noqa: F401  (events is a fixture)

INCREMENTER = """
import os
import time

def handler(system, this, inputs):
    counter = system.setting('counter')
    started = time.time()
    for _ in range(inputs['times']):
        counter.acquire()
        try:
            counter.save(value=counter.get('value') + 1)
        finally:
            counter.release()
    this.set_output(pid=os.getpid(), started=started, ended=time.time())
"""


def test_eight_processes_add_under_the_lock_without_losing_an_update(engine, workspace):
    workspace.write_flow("Incrementer", INCREMENTER)
    engine.store.save_setting("counter", 0)
    ids = engine.submit_many([("Incrementer", {"times": 50}, f"adder {n}") for n in range(8)])
    records = [engine.wait(i, timeout=240) for i in ids]
    assert [r["status"] for r in records] == ["success"] * 8, [r["message"] for r in records]
    assert engine.store.settings()["counter"] == 400
    pids = {r["outputs"]["pid"] for r in records}
    assert len(pids) >= 2, "all eight ran in one worker process"
    # They really competed for the lock: some ran at the same time.
    spans = sorted((r["outputs"]["started"], r["outputs"]["ended"]) for r in records)
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:])), spans


HOLDER = """
import time

def handler(system, this, inputs):
    lock = system.setting('deploy lock')
    lock.acquire()
    this.log('holding')
    deadline = time.monotonic() + 60
    while not system.setting('holder may go').exists():   # the test says when
        if time.monotonic() > deadline:
            return this.error('never told to go')
        this.sleep(0.05)
    if inputs.get('kill'):
        import os
        system.setting('killed at').save(value=time.time())
        os.kill(os.getpid(), 9)
    if inputs.get('release'):
        lock.release()
    return this.success('done holding')
"""

TRIES_BRIEFLY = """
import time
import flow_api
from flow_api.exceptions import LockTimeoutError, TimeoutExceededError

def handler(system, this, inputs):
    lock = system.setting('deploy lock')
    started = time.monotonic()
    try:
        lock.acquire(timeout=inputs['timeout'])
    except LockTimeoutError as exc:
        this.set_output(waited=time.monotonic() - started, is_timeout=isinstance(exc, TimeoutExceededError),
                        is_engine=isinstance(exc, flow_api.EngineException))
        return this.error('lock busy: ' + type(exc).__name__)
    this.set_output(waited=time.monotonic() - started, acquired_at=time.time())
    lock.release()
    return this.success('got the lock')
"""


def test_acquire_with_timeout_while_held_raises_lock_timeout_error(engine, workspace, events):
    workspace.write_flow("Holder", HOLDER)
    workspace.write_flow("Tries Briefly", TRIES_BRIEFLY)
    engine.store.save_setting("deploy lock", "prod")
    holder = engine.submit("Holder", {"release": True})
    events.wait_log(holder, "holding")

    busy = engine.run("Tries Briefly", {"timeout": 0.5}, timeout=WAIT_S)
    assert (busy["status"], busy["message"]) == ("error", "lock busy: LockTimeoutError"), busy["message"]
    assert busy["outputs"]["is_timeout"] is True and busy["outputs"]["is_engine"] is True
    assert 0.4 <= busy["outputs"]["waited"] < 10

    engine.store.save_setting("holder may go", True)
    assert engine.wait(holder, timeout=WAIT_S)["status"] == "success"
    free = engine.run("Tries Briefly", {"timeout": 10}, timeout=WAIT_S)
    assert (free["status"], free["message"]) == ("success", "got the lock"), free["message"]
    # The lock does not change the setting's value.
    assert engine.store.settings()["deploy lock"] == "prod"


def test_a_lock_is_released_when_its_holder_ends_without_release(engine, workspace, events):
    workspace.write_flow("Holder", HOLDER)
    workspace.write_flow("Tries Briefly", TRIES_BRIEFLY)
    engine.store.save_setting("deploy lock", "prod")
    engine.store.save_setting("holder may go", True)
    holder = engine.run("Holder", {"release": False}, timeout=WAIT_S)
    assert (holder["status"], holder["message"]) == ("success", "done holding")
    free = engine.run("Tries Briefly", {"timeout": 10}, timeout=WAIT_S)
    assert (free["status"], free["message"]) == ("success", "got the lock"), free["message"]
    assert free["outputs"]["waited"] < 5


def test_a_holder_killed_by_sigkill_releases_its_lock_to_a_waiter(engine, workspace, events):
    workspace.write_flow("Holder", HOLDER)
    workspace.write_flow("Tries Briefly", TRIES_BRIEFLY)
    workspace.write_flow("Waiter", """
        def handler(system, this, inputs):
            this.log('about to wait')
            this.flow('Tries Briefly', timeout=60)
    """)
    engine.store.save_setting("deploy lock", "prod")
    holder = engine.submit("Holder", {"kill": True})
    events.wait_log(holder, "holding")
    waiter = engine.submit("Waiter")
    events.wait_log(waiter, "about to wait")
    # Give the waiter time to block in acquire(); the assertions below hold either way.
    time.sleep(0.5)
    engine.store.save_setting("holder may go", True)

    holder_record = engine.wait(holder, timeout=WAIT_S)
    assert holder_record["status"] == "error", holder_record
    waiter_record = engine.wait(waiter, timeout=WAIT_S)
    assert waiter_record["status"] == "success", waiter_record["message"]
    (tries,) = engine.tree(waiter)["children"]
    assert (tries["status"], tries["message"]) == ("success", "got the lock")
    killed_at = engine.store.settings()["killed at"]
    assert tries["outputs"]["acquired_at"] >= killed_at, "the waiter got the lock while the holder was alive"


def test_cancelling_a_waiter_blocked_in_acquire_runs_its_finally_and_leaves_the_lock_usable(engine, workspace, events):
    workspace.write_flow("Holder", HOLDER)
    workspace.write_flow("Tries Briefly", TRIES_BRIEFLY)
    workspace.write_flow("Blocked Waiter", """
        def handler(system, this, inputs):
            try:
                this.log('acquiring')
                system.setting('deploy lock').acquire()
                this.log('acquired')
            finally:
                this.log('finally ran')
    """)
    engine.store.save_setting("deploy lock", "prod")
    holder = engine.submit("Holder", {"release": True})
    events.wait_log(holder, "holding")
    waiter = engine.submit("Blocked Waiter")
    events.wait_log(waiter, "acquiring")
    engine.cancel(waiter)
    record = engine.wait(waiter, timeout=WAIT_S)
    assert record["status"] == "cancelled"
    assert [e["text"] for e in engine.tree(waiter)["logs"]] == ["acquiring", "finally ran"]

    engine.store.save_setting("holder may go", True)
    assert engine.wait(holder, timeout=WAIT_S)["status"] == "success"
    free = engine.run("Tries Briefly", {"timeout": 10}, timeout=WAIT_S)
    assert (free["status"], free["message"]) == ("success", "got the lock"), free["message"]


def test_a_lock_held_by_a_parent_blocks_its_child(engine, workspace):
    workspace.write_flow("Tries Briefly", TRIES_BRIEFLY)
    engine.store.save_setting("deploy lock", "prod")
    workspace.write_flow("Parent Holds", """
        import flow_api

        def handler(system, this, inputs):
            lock = system.setting('deploy lock')
            lock.acquire()
            try:
                this.flow('Tries Briefly', name='while held', timeout=0.3)
            except flow_api.DependencyFailedError as exc:
                held = str(exc)
            lock.release()
            this.flow('Tries Briefly', name='after release', timeout=10)
            this.set_output(held='LockTimeoutError' in held)
    """)
    record = engine.run("Parent Holds", timeout=WAIT_S)
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"held": True}
    children = {c["name"]: (c["status"], c["message"]) for c in engine.tree(record["id"])["children"]}
    assert children == {"while held": ("error", "lock busy: LockTimeoutError"),
                        "after release": ("success", "got the lock")}


def test_a_cancelled_holder_releases_its_lock(engine, workspace, events):
    workspace.write_flow("Holder", HOLDER)
    workspace.write_flow("Tries Briefly", TRIES_BRIEFLY)
    engine.store.save_setting("deploy lock", "prod")
    holder = engine.submit("Holder", {"release": False})
    events.wait_log(holder, "holding")
    engine.cancel(holder)
    assert engine.wait(holder, timeout=WAIT_S)["status"] == "cancelled"
    free = engine.run("Tries Briefly", {"timeout": 10}, timeout=WAIT_S)
    assert (free["status"], free["message"]) == ("success", "got the lock"), free["message"]
    assert free["outputs"]["waited"] < 5
