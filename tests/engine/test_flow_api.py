"""Each call of the flow API, run for real in worker processes."""

import json

import pytest
from support import QuietHandler, send_json, serving_http


def run(engine, workspace, name, body, inputs=None, timeout=30):
    workspace.write_flow(name, body)
    record = engine.run(name, inputs, timeout=timeout)
    return record, engine.tree(record["id"])


def test_set_output_forms_and_get_fields(engine, workspace):
    workspace.write_flow("Producer", """
        def handler(system, this, inputs):
            this.set_output(a=1)
            this.set_output('b', [1, 2])
            this.set_output(a=3, c={'x': None})
            return this.success('made')
    """)
    record, tree = run(engine, workspace, "Consumer", """
        def handler(system, this, inputs):
            child = this.flow('Producer', name='make', n=5)
            this.set_output(out=child.get('output_value'),
                            several=child.get('status', 'name', 'message', 'input_value'),
                            mine=this.get('input_value'))
    """, inputs={"k": "v"})
    assert record["status"] == "success" and record["message"] is None
    assert record["outputs"]["out"] == {"a": 3, "b": [1, 2], "c": {"x": None}}
    assert record["outputs"]["several"] == {"status": "ENDED_SUCCESS", "name": "make", "message": "made", "input_value": {"n": 5}}
    assert record["outputs"]["mine"] == {"k": "v"}


def test_non_json_output_is_a_clear_error(engine, workspace):
    record, _ = run(engine, workspace, "Bad Output", """
        def handler(system, this, inputs):
            this.set_output(when=object())
    """)
    assert record["status"] == "error"
    assert "set_output['when']: a value of type object cannot be stored" in record["message"]
    assert "line 2" in record["message"]


def test_log_with_fields_and_print(engine, workspace):
    record, tree = run(engine, workspace, "Logger", """
        def handler(system, this, inputs):
            this.log('count', 3, unit='apples')
            print('printed line')
    """)
    assert [(e["level"], e["text"], e["fields"]) for e in tree["logs"]] == [
        ("info", "count 3", {"unit": "apples"}),
        ("stdout", "printed line", None),
    ]


def test_message(engine, workspace):
    _, tree = run(engine, workspace, "Talker", """
        def handler(system, this, inputs):
            this.message('Deploy', 'finished in 3 s')
    """)
    assert [(m["subject"], m["message"]) for m in tree["messages"]] == [("Deploy", "finished in 3 s")]


def test_error_return_and_raised_exception(engine, workspace):
    record, _ = run(engine, workspace, "Refuses", """
        def handler(system, this, inputs):
            return this.error('input missing')
    """)
    assert (record["status"], record["message"]) == ("error", "input missing")
    record, _ = run(engine, workspace, "Raises", """
        def helper():
            return 1 / 0

        def handler(system, this, inputs):
            helper()
    """)
    assert record["status"] == "error"
    assert record["message"] == "ZeroDivisionError: division by zero (flow 'Raises', line 2)"
    assert 'Raises.py", line 5, in handler' in record["traceback"]
    assert "engine_core" not in record["traceback"]


def test_settings_get_save_exists_delete(engine, workspace):
    record, _ = run(engine, workspace, "Settings", """
        import flow_api
        def handler(system, this, inputs):
            s = system.setting('cfg')
            try:
                s.get('value')
            except flow_api.ResourceNotFoundError as exc:
                missing = str(exc)
            before = (s.exists(), missing)
            s.save(value={'retries': 3})
            after = (s.exists(), s.get('value'), s.get('name'))
            system.setting('gone').save(value=1)
            system.setting('gone').delete()
            this.set_output(before=before, after=after, gone=system.setting('gone').exists())
    """)
    assert record["outputs"] == {
        "before": [False, "there is no setting 'cfg'; create it with system.setting('cfg').save(value=...) "
                          "or in the IDE's Explorer"],
        "after": [True, {"retries": 3}, "cfg"], "gone": False}
    assert engine.store.settings() == {"cfg": {"retries": 3}}


def test_setting_passed_to_child_stays_live(engine, workspace):
    workspace.write_flow("Bump", """
        def handler(system, this, inputs):
            s = inputs['counter']
            s.save(value=s.get('value') + 1)
    """)
    record, _ = run(engine, workspace, "Counter", """
        import flow_api
        def handler(system, this, inputs):
            counter = system.setting('counter').save(value=1)
            this.flow('Bump', counter=counter)
            this.flow('Bump', counter=counter)
            assert isinstance(counter, flow_api.Setting)
            this.set_output(value=counter.get('value'))
    """)
    assert record["outputs"] == {"value": 3}


def test_children_without_waiting(engine, workspace):
    workspace.write_flow("Slow", """
        def handler(system, this, inputs):
            this.sleep(inputs['s'])
            this.set_output(s=inputs['s'])
    """)
    record, tree = run(engine, workspace, "Fan Out", """
        def handler(system, this, inputs):
            children = [this.flow('Slow', wait=False, s=0.3) for _ in range(3)]
            statuses = [c.get('status') for c in children]
            this.wait_for(*children)
            this.set_output(before=statuses, after=[c.get('status') for c in children])
    """)
    assert record["status"] == "success", record["message"]
    assert set(record["outputs"]["before"]) <= {"WAITING", "RUNNING"}
    assert record["outputs"]["after"] == ["ENDED_SUCCESS"] * 3
    starts = sorted(child["started_at"] for child in tree["children"])
    ends = sorted(child["ended_at"] for child in tree["children"])
    assert starts[-1] < ends[0], "the three children ran at the same time"


def test_wait_timeout(engine, workspace):
    workspace.write_flow("Sleeper", """
        def handler(system, this, inputs):
            this.sleep(30)
    """)
    record, tree = run(engine, workspace, "Impatient", """
        import flow_api
        def handler(system, this, inputs):
            child = this.flow('Sleeper', wait=False)
            try:
                child.wait(timeout=0.2)
            except flow_api.FlowTimeoutError as exc:
                return this.error(str(exc))
    """)
    assert record["status"] == "error"
    assert record["message"] == "execution 'Sleeper' (#2) did not end within 0.2 s"
    # The parent ended in error, so its still-running child was cancelled.
    assert tree["children"][0]["status"] == "cancelled"


def test_unknown_flow_raises_resource_not_found(engine, workspace):
    record, _ = run(engine, workspace, "Caller", """
        import flow_api
        def handler(system, this, inputs):
            try:
                this.flow('Does Not Exist')
            except flow_api.ResourceNotFoundError as exc:
                return this.success(str(exc))
    """)
    assert record["status"] == "success"
    assert record["message"].startswith("no flow 'Does Not Exist' in workspace")


def test_system_flow_resource(engine, workspace):
    record, _ = run(engine, workspace, "Inspector", """
        def handler(system, this, inputs):
            this.set_output(calc=system.flow('Calculator').exists(), none=system.flow('Nope').exists(),
                            has_handler='def handler' in system.flow('Calculator').get('script'))
    """)
    assert record["outputs"] == {"calc": True, "none": False, "has_handler": True}


def test_unknown_connector_type_is_a_clear_error(engine, workspace):
    record, _ = run(engine, workspace, "Connects", """
        def handler(system, this, inputs):
            this.connect(connector_type='TELEPATHY', command='get')
    """)
    assert record["status"] == "error"
    from engine_core import connectors

    assert record["message"].startswith("ConnectorError: unknown connector type 'TELEPATHY'; available connector "
                                        f"types: {', '.join(connectors.available())}")


@pytest.fixture
def http_server():
    class Handler(QuietHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path}).encode()
            send_json(self, 200, body)

    with serving_http(Handler) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


def test_rest_connector_is_a_connection_execution(engine, workspace, http_server):
    record, tree = run(engine, workspace, "Calls API", f"""
        def handler(system, this, inputs):
            response = this.connect(connector_type='REST', url='{http_server}/items?x=1')
            this.set_output(answer=response.get('output_value')['json'])
    """)
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"answer": {"path": "/items?x=1"}}
    (connection,) = tree["children"]
    assert (connection["kind"], connection["flow"], connection["status"]) == ("connection", "REST", "success")
    assert connection["outputs"]["status_code"] == 200


def test_rest_connector_failure_is_a_dependency_failure(engine, workspace):
    record, _ = run(engine, workspace, "Calls Nothing", """
        import flow_api
        def handler(system, this, inputs):
            try:
                this.connect('REST', url='http://127.0.0.1:9/')
            except flow_api.DependencyFailedError as exc:
                return this.error(str(exc))
    """)
    assert record["status"] == "error"
    assert record["message"].startswith("child execution 'REST' (#2) failed: ConnectorError: REST request GET http://127.0.0.1:9/ failed")


def test_runaway_recursion_is_stopped(engine, workspace):
    record, _ = run(engine, workspace, "Forever", """
        def handler(system, this, inputs):
            this.flow('Forever')
    """, timeout=60)
    assert record["status"] == "error"
    assert "nest deeper than 32 levels" in record["message"]


def test_syntax_error_names_file_and_line(engine, workspace):
    record, _ = run(engine, workspace, "Broken", """
        def handler(system, this, inputs):
            x = (1,
            return x
    """)
    assert record["status"] == "error"
    assert record["message"].startswith("SyntaxError in flow 'Broken' (")
    assert "Broken.py, line 2" in record["message"]
    # Nothing else broke: the next execution runs.
    assert engine.run("Calculator", {"initial_value": 2})["outputs"] == {"result": 2}


def test_flow_without_handler(engine, workspace):
    record, _ = run(engine, workspace, "No Handler", "x = 1\n")
    assert record["status"] == "error"
    assert "has no handler; define 'def handler(system, this, inputs):'" in record["message"]


def test_sys_exit_in_a_flow(engine, workspace):
    record, _ = run(engine, workspace, "Exits", """
        import sys
        def handler(system, this, inputs):
            sys.exit(3)
    """)
    assert record["status"] == "error"
    assert record["message"] == "the flow called sys.exit(3) (flow 'Exits', line 3)"
