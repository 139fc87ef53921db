"""Flows written for old Cloudomation versions: ``def handler(system, this)``, inputs read with
``this.get('input_value')``, tasks with ``this.task('REST', ...).run()`` and outputs with
``this.save(output_value=...)`` (flows.md, "A flow" and the ``this.task`` row)."""

from api_support import echo_server, find_nodes, log_texts, run_flow  # noqa: F401  (echo_server is a fixture)


def test_two_argument_handler_reads_inputs_with_get_input_value(engine, workspace):
    record, tree = run_flow(engine, workspace, "Greeter", """
        def handler(system, this):
            inputs = this.get('input_value')
            try:
                name = inputs['name']
            except Exception:
                return this.error('missing input "name"')
            this.log(name=name)
            this.save(output_value={'greeting': f'Hello {name}'})
            greeting = this.get('output_value')['greeting']
            return this.success(f'greeted {name}: {greeting}')
    """, inputs={"name": "Ada"})
    assert (record["status"], record["message"]) == ("success", "greeted Ada: Hello Ada"), record.get("traceback")
    assert record["outputs"] == {"greeting": "Hello Ada"}
    assert tree["logs"][0]["fields"] == {"name": "Ada"}


def test_two_argument_handler_missing_input_ends_in_error(engine, workspace):
    record, _ = run_flow(engine, workspace, "Greeter Strict", """
        def handler(system, this):
            inputs = this.get('input_value')
            try:
                name = inputs['name']
            except Exception:
                return this.error('missing input "name"')
            return this.success(name)
    """)
    assert (record["status"], record["message"]) == ("error", 'missing input "name"')


def test_old_style_parent_and_child_pass_inputs_as_keyword_arguments(engine, workspace):
    workspace.write_flow("Old Child", """
        def handler(system, this):
            inputs = this.get('input_value') or {}
            this.save(output_value={'doubled': inputs['value'] * 2, 'keys': sorted(inputs)})
            this.success('child done')
    """)
    record, tree = run_flow(engine, workspace, "Old Parent", """
        def handler(system, this):
            child = this.flow('Old Child', name='doubling', value=21)
            outputs = child.get('output_value')
            this.save(message=f"child says {child.get('message')}")
            this.set_output('result', outputs['doubled'])
            this.set_output('keys', outputs['keys'])
    """)
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"result": 42, "keys": ["value"]}
    (child,) = tree["children"]
    assert (child["name"], child["status"], child["inputs"]) == ("doubling", "success", {"value": 21})


def test_task_rest_run_against_a_local_server(engine, workspace, echo_server):
    record, tree = run_flow(engine, workspace, "Old REST", f"""
        def handler(system, this):
            task = this.task('REST', url='{echo_server}/jobs?page=2').run()
            outputs = task.get('output_value')
            this.log(status_code=outputs['status_code'])
            this.save(output_value={{'answer': outputs['json'], 'status_code': outputs['status_code']}})
            return this.end('success', message='called the API')
    """)
    assert (record["status"], record["message"]) == ("success", "called the API"), record.get("traceback")
    assert record["outputs"]["status_code"] == 200
    assert record["outputs"]["answer"]["method"] == "GET"
    assert record["outputs"]["answer"]["path"] == "/jobs?page=2"
    (connection,) = tree["children"]
    assert (connection["kind"], connection["flow"], connection["status"]) == ("connection", "REST", "success")
    assert connection["outputs"]["status_code"] == 200


def test_task_rest_post_with_json_run_async_then_wait(engine, workspace, echo_server):
    record, tree = run_flow(engine, workspace, "Old POST", f"""
        def handler(system, this):
            task = this.task('REST', url='{echo_server}/items', method='post', json={{'name': 'widget'}})
            task.run_async()
            this.log('doing other things')
            task.wait()
            this.save(output_value=task.get('output_value')['json'])
    """)
    assert record["status"] == "success", record["message"]
    assert record["outputs"]["method"] == "POST"
    assert record["outputs"]["body"] == {"name": "widget"}
    assert log_texts(tree) == ["doing other things"]


def test_task_rest_unexpected_status_fails_the_caller(engine, workspace, echo_server):
    record, tree = run_flow(engine, workspace, "Old REST 500", f"""
        def handler(system, this):
            this.task('REST', url='{echo_server}/status/500').run()
            return this.success('should not get here')
    """)
    assert record["status"] == "error"
    # flows.md: an uncaught exception ends the execution "with the exception and the flow's
    # line as its message" -- a failed task is no exception to that.
    assert "HTTP 500" in record["message"], record["message"]
    assert "(flow 'Old REST 500', line 2)" in record["message"], record["message"]
    (connection,) = tree["children"]
    assert connection["status"] == "error"


def test_library_idiom_task_without_run_then_get_output(engine, workspace, echo_server):
    """Several Cloudomation library flows read a task's outputs without calling ``.run()``
    (``task = this.task('REST', url=...)`` then ``task.get('output_value')['json']``).
    flows.md says ``task`` returns an unstarted connection; both shapes must work — see
    /tmp/flowdesk-research.md, item 1."""
    record, tree = run_flow(engine, workspace, "Library REST", f"""
        def handler(system, this):
            task = this.task('REST', url='{echo_server}/jokes/random')
            joke = task.get('output_value')['json']['path']
            this.success(message=joke)
    """)
    assert (record["status"], record["message"]) == ("success", "/jokes/random"), record.get("traceback")
    assert [n["status"] for n in find_nodes(tree, kind="connection")] == ["success"]


def test_library_idiom_run_on_a_child_that_already_ran(engine, workspace):
    """Library flows (Recurring, Scheduled) write ``child = this.flow(...)`` — started and
    waited for by default — and then ``child.run()``. That must neither fail nor run the
    child a second time (/tmp/flowdesk-research.md, item 1)."""
    workspace.write_flow("Counted", """
        def handler(system, this):
            runs = system.setting('runs')
            runs.save(value=(runs.get('value') if runs.exists() else 0) + 1)
    """)
    record, tree = run_flow(engine, workspace, "Recurring", """
        def handler(system, this):
            child = this.flow('Counted', inputs={'iteration': 1}, name='Counted iteration #1')
            child.run()
            this.success(f"ran {system.setting('runs').get('value')} time(s)")
    """)
    assert (record["status"], record["message"]) == ("success", "ran 1 time(s)"), record.get("traceback")
    assert len(find_nodes(tree, flow="Counted")) == 1


def test_library_idiom_unpack_several_fields(engine, workspace):
    """Cloudomation flows unpack several fields: ``status, message = task.load('status',
    'message')``, ``name, message = execution.load('name', 'message')`` (library flows, see
    /tmp/flowdesk-research.md item 3). flows.md says several fields come back as a dict,
    which unpacks to its KEYS: such a flow would silently compare 'status' == 'ENDED_ERROR'."""
    workspace.write_flow("Fails Politely", """
        def handler(system, this):
            return this.error('quota exceeded')
    """)
    record, _ = run_flow(engine, workspace, "Unpacks", """
        def handler(system, this):
            task = this.flow('Fails Politely', wait=system.return_when.ALL_ENDED)
            status, message = task.load('status', 'message')
            this.success(f'{status}: {message}')
    """)
    assert (record["status"], record["message"]) == ("success", "ENDED_ERROR: quota exceeded"), record.get("traceback")


def test_library_idiom_task_with_a_positional_inputs_dict(engine, workspace, echo_server):
    """The Cloudomation Tasks documentation passes the inputs as a dict:
    ``task = this.task('REST', inputs); task.run_async(); task.wait()``."""
    record, _ = run_flow(engine, workspace, "Dict Inputs", f"""
        def handler(system, this):
            inputs = {{'url': '{echo_server}/post', 'method': 'post', 'data': 'payload'}}
            task = this.task('REST', inputs)
            task.run_async()
            task.wait()
            outputs = task.get('output_value')
            return this.success(outputs['json']['method'] + ' ' + outputs['json']['body'])
    """)
    assert (record["status"], record["message"]) == ("success", "POST payload"), record.get("traceback")
