"""Ending an execution (flows.md, "Ending an execution — lifecycle signals" [doc]):
``this.success/error/end`` end it at once, ``except Exception`` cannot swallow that, the code
after the call does not run, and cancelling delivers ``ExecutionCancel`` so ``finally:`` runs."""

import pytest

from api_support import WAIT_S, events, log_texts, run_flow  # noqa: F401  (events is a fixture)


def test_success_ends_at_once_and_the_code_after_does_not_run(engine, workspace):
    record, tree = run_flow(engine, workspace, "Ends Early", """
        def handler(system, this, inputs):
            this.log('before')
            this.success('finished early')
            this.log('after')
            this.set_output(after=True)
            system.setting('ran past success').save(value=True)
    """)
    assert (record["status"], record["message"]) == ("success", "finished early")
    assert log_texts(tree) == ["before"]
    assert not record["outputs"]
    assert "ran past success" not in engine.store.settings()


def test_error_is_not_swallowed_by_except_exception(engine, workspace):
    record, tree = run_flow(engine, workspace, "Guarded", """
        def handler(system, this, inputs):
            try:
                this.error('the input file is empty')
            except Exception as exc:
                this.log('swallowed', type(exc).__name__)
                return this.success('kept going')
            this.log('after the try')
    """)
    assert (record["status"], record["message"]) == ("error", "the input file is empty")
    assert log_texts(tree) == []


def test_success_inside_a_broad_try_still_ends_in_success(engine, workspace):
    # Cloudomation flows wrap whole bodies in try/except Exception and call this.success inside.
    record, tree = run_flow(engine, workspace, "Broad Try", """
        def handler(system, this, inputs):
            try:
                this.log('working')
                this.success('all done')
            except Exception:
                this.log('caught')
                this.error('must not happen')
    """)
    assert (record["status"], record["message"]) == ("success", "all done")
    assert log_texts(tree) == ["working"]


@pytest.mark.parametrize("status, expected", [("success", "success"), ("error", "error")])
def test_end_with_a_status_ends_at_once(engine, workspace, status, expected):
    record, tree = run_flow(engine, workspace, "Ender", f"""
        def handler(system, this, inputs):
            try:
                this.end('{status}', message='ended with {status}')
            except Exception:
                this.log('swallowed')
            this.log('after end')
            return this.success('fell through')
    """)
    assert (record["status"], record["message"]) == (expected, f"ended with {status}")
    assert log_texts(tree) == []


def test_return_this_success_and_returning_none_both_succeed(engine, workspace):
    # The seed's style: return this.success(...); and a handler that simply returns.
    workspace.write_flow("Plain Return", """
        def handler(system, this, inputs):
            this.set_output(done=True)
    """)
    record, tree = run_flow(engine, workspace, "Seed Style", """
        def handler(system, this, inputs):
            child = this.flow('Plain Return')
            return this.success(f"child said {child.get('output_value')}")
    """)
    assert (record["status"], record["message"]) == ("success", "child said {'done': True}")
    assert tree["children"][0]["status"] == "success"


def test_finally_runs_when_the_flow_ends_itself(engine, workspace):
    record, tree = run_flow(engine, workspace, "Tidy", """
        def handler(system, this, inputs):
            try:
                this.error('gave up')
            finally:
                this.log('cleaned up')
    """)
    assert (record["status"], record["message"]) == ("error", "gave up")
    assert log_texts(tree) == ["cleaned up"]


def test_lifecycle_signals_as_a_flow_sees_them(engine, workspace):
    record, _ = run_flow(engine, workspace, "Signals", """
        import flow_api
        from flow_api import exceptions

        def handler(system, this, inputs):
            seen = {}
            for name in ('ExecutionSuccess', 'ExecutionError', 'ExecutionCancel'):
                cls = getattr(flow_api, name)
                seen[name] = [issubclass(cls, flow_api.LifecycleSignal), issubclass(cls, Exception),
                              cls is getattr(exceptions, name)]
            seen['LifecycleSignal'] = [issubclass(flow_api.LifecycleSignal, BaseException),
                                       issubclass(flow_api.LifecycleSignal, Exception)]
            try:
                this.success('caught it')
            except flow_api.ExecutionSuccess as signal:
                seen['caught'] = str(signal)
            this.set_output(seen=seen)
    """)
    assert record["status"] == "success", record["message"]
    seen = record["outputs"]["seen"]
    for name in ("ExecutionSuccess", "ExecutionError", "ExecutionCancel"):
        assert seen[name] == [True, False, True], name
    assert seen["LifecycleSignal"] == [True, False]
    assert "caught it" in seen["caught"]


def test_cancel_delivers_execution_cancel_so_finally_runs(engine, workspace, events):
    workspace.write_flow("Long Job", """
        def handler(system, this, inputs):
            try:
                this.log('started')
                this.sleep(120)
            except Exception as exc:
                this.log('swallowed ' + type(exc).__name__)
            finally:
                this.log('finally ran')
                system.setting('long job cleanup').save(value='done')
            this.log('after the try')
    """)
    execution_id = engine.submit("Long Job")
    events.wait_log(execution_id, "started")
    engine.cancel(execution_id)
    record = engine.wait(execution_id, timeout=WAIT_S)
    assert record["status"] == "cancelled"
    assert log_texts(engine.tree(execution_id)) == ["started", "finally ran"]
    assert engine.store.settings()["long job cleanup"] == "done"


def test_cancel_interrupts_plain_python_code_too(engine, workspace, events):
    workspace.write_flow("Busy", """
        import time

        def handler(system, this, inputs):
            try:
                this.log('started')
                while True:
                    time.sleep(0.01)
            finally:
                this.log('finally ran')
    """)
    execution_id = engine.submit("Busy")
    events.wait_log(execution_id, "started")
    engine.cancel(execution_id)
    record = engine.wait(execution_id, timeout=WAIT_S)
    assert record["status"] == "cancelled"
    assert log_texts(engine.tree(execution_id)) == ["started", "finally ran"]


def test_a_flow_that_ignores_cancel_is_killed_after_the_grace_period(engine, workspace, events):
    workspace.write_flow("Stubborn", """
        import time

        def handler(system, this, inputs):
            this.log('started')
            while True:
                try:
                    time.sleep(0.01)
                except BaseException:
                    pass
    """)
    execution_id = engine.submit("Stubborn")
    events.wait_log(execution_id, "started")
    engine.cancel(execution_id)
    # The grace period is 2 s [decided]; allow generous slack for a loaded machine.
    record = engine.wait(execution_id, timeout=20)
    assert record["status"] == "cancelled"
    # The engine still works after killing a worker.
    assert engine.run("Calculator", {"initial_value": 5}, timeout=WAIT_S)["outputs"] == {"result": 5}


def test_cancel_while_waiting_for_a_child_cancels_both_and_runs_both_finally_blocks(engine, workspace, events):
    workspace.write_flow("Child Sleeper", """
        def handler(system, this, inputs):
            try:
                this.log('child asleep')
                this.sleep(120)
            finally:
                system.setting('child cleanup').save(value=True)
    """)
    workspace.write_flow("Waits On Child", """
        def handler(system, this, inputs):
            try:
                this.flow('Child Sleeper')
            except Exception as exc:
                this.log('swallowed ' + type(exc).__name__)
            finally:
                system.setting('parent cleanup').save(value=True)
    """)
    execution_id = engine.submit("Waits On Child")
    events.wait_log(None, "child asleep")
    engine.cancel(execution_id)
    record = engine.wait(execution_id, timeout=WAIT_S)
    assert record["status"] == "cancelled"
    tree = engine.tree(execution_id)
    assert log_texts(tree) == []
    (child,) = tree["children"]
    assert engine.wait(child["id"], timeout=WAIT_S)["status"] == "cancelled"
    settings = engine.store.settings()
    assert (settings.get("parent cleanup"), settings.get("child cleanup")) == (True, True)


def test_cancel_a_paused_execution(engine, workspace, events):
    workspace.write_flow("Paused Forever", """
        def handler(system, this, inputs):
            try:
                this.pause()
                this.log('resumed')
            finally:
                this.log('finally ran')
    """)
    execution_id = engine.submit("Paused Forever")
    events.wait_status(execution_id, "paused")
    engine.cancel(execution_id)
    record = engine.wait(execution_id, timeout=WAIT_S)
    assert record["status"] == "cancelled"
    assert log_texts(engine.tree(execution_id)) == ["finally ran"]


def test_a_cancelled_parent_ends_only_after_its_children(engine, workspace, events):
    """What the user sees when the root shows 'cancelled': no child still 'running' under it
    (a CLI or IDE that waits for the root must see the whole tree ended). Repeated, because a
    wrong order shows only now and then."""
    workspace.write_flow("Child Sleeper", """
        def handler(system, this, inputs):
            try:
                this.log('child asleep')
                this.sleep(120)
            finally:
                system.setting('child cleanup').save(value=True)
    """)
    workspace.write_flow("Waits On Child", """
        def handler(system, this, inputs):
            try:
                this.flow('Child Sleeper')
            finally:
                system.setting('parent cleanup').save(value=True)
    """)
    problems = []
    for attempt in range(6):
        execution_id = engine.submit("Waits On Child")
        events.wait(lambda e, i=execution_id: type(e).__name__ == "LogAppended" and e.text == "child asleep"
                    and e.id > i, what="the child asleep")
        engine.cancel(execution_id)
        engine.wait(execution_id, timeout=WAIT_S)
        (child_at_root_end,) = engine.tree(execution_id)["children"]
        engine.wait(child_at_root_end["id"], timeout=WAIT_S)
        if child_at_root_end["status"] != "cancelled":
            problems.append((attempt, child_at_root_end["status"]))
    assert not problems, f"(attempt, child status when the root had ended): {problems}"
