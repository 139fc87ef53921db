"""``system`` records and this-execution fields (flows.md, "`system`", "Exceptions" and the
``this.save`` / ``sleep`` rows): settings, files, flows, executions, listings, own user and
client, and the exception classes as a flow sees them."""

import base64
import getpass
import time

from api_support import run_flow


def test_a_missing_setting_raises_resource_not_found(engine, workspace):
    record, _ = run_flow(engine, workspace, "Reads Missing", """
        import flow_api
        from flow_api.exceptions import ResourceNotFoundError

        def handler(system, this, inputs):
            setting = system.setting('api token')
            try:
                setting.get('value')
            except ResourceNotFoundError as exc:
                return this.success(f'{type(exc).__name__}: {exc}; base ok={isinstance(exc, flow_api.EngineException)}')
            return this.error('no exception')
    """)
    assert record["status"] == "success", record["message"]
    assert record["message"].startswith("ResourceNotFoundError: ")
    assert "api token" in record["message"]
    assert record["message"].endswith("base ok=True")


def test_a_missing_setting_read_uncaught_ends_the_execution_in_error(engine, workspace):
    record, _ = run_flow(engine, workspace, "Needs Token", """
        def handler(system, this, inputs):
            token = system.setting('api token').get('value')
            this.log(token)
    """)
    assert record["status"] == "error"
    assert record["message"].startswith("ResourceNotFoundError")
    assert "api token" in record["message"]
    assert record["message"].endswith("(flow 'Needs Token', line 2)"), record["message"]


def test_setting_save_exists_get_delete(engine, workspace):
    record, _ = run_flow(engine, workspace, "Settings Life", """
        import flow_api

        def handler(system, this, inputs):
            s = system.setting('deploy config')
            steps = [s.exists()]
            s.save(value={'replicas': 2, 'regions': ['eu', 'us']})
            steps += [s.exists(), s.get('value')]
            s.save(value={'replicas': 3})
            steps.append(system.setting('deploy config').get('value'))
            system.setting('scratch').save(value='x')
            system.setting('scratch').delete()
            steps.append(system.setting('scratch').exists())
            try:
                system.setting('scratch').get('value')
            except flow_api.ResourceNotFoundError:
                steps.append('deleted reads raise')
            this.set_output(steps=steps)
    """)
    assert record["status"] == "success", record["message"]
    assert record["outputs"]["steps"] == [False, True, {"replicas": 2, "regions": ["eu", "us"]}, {"replicas": 3},
                                          False, "deleted reads raise"]
    assert engine.store.settings() == {"deploy config": {"replicas": 3}}


def test_setting_list_append(engine, workspace):
    engine.store.save_setting("hosts", ["web-1"])
    record, _ = run_flow(engine, workspace, "Appends", """
        def handler(system, this, inputs):
            hosts = system.setting('hosts')
            hosts.list_append('web-2')
            hosts.list_append({'name': 'db-1', 'port': 5432})
            this.set_output(hosts=system.setting('hosts').get('value'))
    """)
    assert record["status"] == "success", record["message"]
    expected = ["web-1", "web-2", {"name": "db-1", "port": 5432}]
    assert record["outputs"]["hosts"] == expected
    assert engine.store.settings()["hosts"] == expected


def test_file_save_get_exists_delete_and_files_on_disk(engine, workspace):
    files_dir = workspace.root / "files"
    files_dir.mkdir(exist_ok=True)
    (files_dir / "input.csv").write_text("id,name\n1,Ada\n", encoding="utf-8")
    record, _ = run_flow(engine, workspace, "Files", """
        import flow_api

        def handler(system, this, inputs):
            report = system.file('reports/today.txt')
            steps = [report.exists()]
            report.save(content='3 rows copied\\nno errors\\n')
            steps += [report.exists(), report.get('content'), system.file('input.csv').get('content')]
            system.file('scratch.txt').save(content='temporary')
            system.file('scratch.txt').delete()
            steps.append(system.file('scratch.txt').exists())
            try:
                system.file('scratch.txt').get('content')
            except flow_api.ResourceNotFoundError:
                steps.append('missing file raises')
            this.set_output(steps=steps)
    """)
    assert record["status"] == "success", record["message"]
    assert record["outputs"]["steps"] == [False, True, "3 rows copied\nno errors\n", "id,name\n1,Ada\n", False,
                                          "missing file raises"]
    assert (files_dir / "reports" / "today.txt").read_text(encoding="utf-8") == "3 rows copied\nno errors\n"
    assert not (files_dir / "scratch.txt").exists()


def test_file_names_cannot_leave_the_files_folder(engine, workspace):
    outside = workspace.root / "escaped.txt"
    record, _ = run_flow(engine, workspace, "Escapes", f"""
        import flow_api

        def handler(system, this, inputs):
            refused = []
            for name in ('../escaped.txt', 'sub/../../escaped.txt', {str(outside)!r}):
                try:
                    system.file(name).save(content='x')
                except flow_api.EngineException as exc:
                    refused.append(type(exc).__name__)
            this.set_output(refused=refused)
    """)
    assert record["status"] == "success", record["message"]
    assert len(record["outputs"]["refused"]) == 3, record["outputs"]
    assert not outside.exists()


def test_file_save_with_convert_binary_stores_the_decoded_bytes(engine, workspace):
    payload = bytes(range(256)) * 4
    record, _ = run_flow(engine, workspace, "Binary", """
        def handler(system, this, inputs):
            system.file('blobs/data.bin').save(content=inputs['b64'], convert_binary=True)
            this.set_output(exists=system.file('blobs/data.bin').exists())
    """, inputs={"b64": base64.b64encode(payload).decode("ascii")})
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"exists": True}
    assert (workspace.root / "files" / "blobs" / "data.bin").read_bytes() == payload


def test_file_and_flow_records_passed_to_a_child_stay_live(engine, workspace):
    workspace.write_flow("Uses Records", """
        import flow_api

        def handler(system, this, inputs):
            report, template = inputs['report'], inputs['template']
            assert isinstance(report, flow_api.File) and isinstance(template, flow_api.Flow)
            report.save(content=report.get('content') + 'line 2\\n')
            this.set_output(has_handler='def handler' in template.get('script'), name=template.get('name'))
    """)
    record, _ = run_flow(engine, workspace, "Passes Records", """
        def handler(system, this, inputs):
            report = system.file('out/report.txt')
            report.save(content='line 1\\n')
            child = this.flow('Uses Records', report=report, template=system.flow('Calculator'))
            this.set_output(content=report.get('content'), child=child.get('output_value'))
    """)
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"content": "line 1\nline 2\n", "child": {"has_handler": True, "name": "Calculator"}}


def test_system_flow_save_script_then_run_it(engine, workspace):
    record, tree = run_flow(engine, workspace, "Generator", '''
        SCRIPT = """
        def handler(system, this, inputs):
            this.set_output(doubled=inputs['x'] * 2)
            return this.success('generated flow ran')
        """

        def handler(system, this, inputs):
            generated = system.flow('Generated Doubler')
            before = generated.exists()
            generated.save(script=SCRIPT)
            child = this.flow('Generated Doubler', x=21)
            this.set_output(before=before, after=generated.exists(),
                            same_script=generated.get('script') == SCRIPT,
                            result=child.get('output_value'), message=child.get('message'))
    ''')
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"before": False, "after": True, "same_script": True, "result": {"doubled": 42},
                                 "message": "generated flow ran"}
    assert (workspace.root / "flows" / "Generated Doubler.py").is_file()
    assert tree["children"][0]["flow"] == "Generated Doubler"


def test_system_execution_loads_another_execution(engine, workspace):
    workspace.write_flow("Worker", """
        def handler(system, this, inputs):
            this.set_output(rows=inputs['rows'])
            return this.success('copied')
    """)
    first = engine.run("Worker", {"rows": 12}, name="nightly copy", timeout=60)
    assert first["status"] == "success", first["message"]
    record, _ = run_flow(engine, workspace, "Inspector", """
        def handler(system, this, inputs):
            other = system.execution(inputs['eid'])
            this.set_output(status=other.get('status'), out=other.get('output_value'), name=other.get('name'),
                            message=other.get('message'), flow=other.get('flow'), inputs=other.get('input_value'))
    """, inputs={"eid": first["id"]})
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"status": "ENDED_SUCCESS", "out": {"rows": 12}, "name": "nightly copy",
                                 "message": "copied", "flow": "Worker", "inputs": {"rows": 12}}


def test_system_execution_of_an_unknown_id_raises_resource_not_found(engine, workspace):
    record, _ = run_flow(engine, workspace, "Looks Up", """
        import flow_api

        def handler(system, this, inputs):
            try:
                system.execution(999999).get('status')
            except flow_api.ResourceNotFoundError:
                return this.success('not found')
    """)
    assert (record["status"], record["message"]) == ("success", "not found")


def test_listings_of_settings_files_and_flows(engine, workspace):
    engine.store.save_setting("alpha", 1)
    engine.store.save_setting("beta", 2)
    files_dir = workspace.root / "files"
    (files_dir / "in").mkdir(parents=True, exist_ok=True)
    (files_dir / "in" / "a.txt").write_text("a", encoding="utf-8")
    (files_dir / "b.txt").write_text("b", encoding="utf-8")
    record, _ = run_flow(engine, workspace, "Lister", """
        def handler(system, this, inputs):
            this.set_output(settings=sorted(s.get('name') for s in system.settings()),
                            files=sorted(f.get('name') for f in system.files()),
                            flows=sorted(f.get('name') for f in system.flows()))
    """)
    assert record["status"] == "success", record["message"]
    out = record["outputs"]
    assert out["settings"] == ["alpha", "beta"]
    assert out["files"] == ["b.txt", "in/a.txt"]
    expected_flows = sorted(p.stem for p in (workspace.root / "flows").glob("*.py"))
    assert out["flows"] == expected_flows
    assert "Lister" in out["flows"] and "Calculator" in out["flows"]


def test_own_user_and_client(engine, workspace):
    record, _ = run_flow(engine, workspace, "Who Am I", """
        def handler(system, this, inputs):
            user = system.get_own_user().get('name')
            client = system.get_own_client().get('name')
            this.set_output(user=user, client=client)
    """)
    assert record["status"] == "success", record["message"]
    assert record["outputs"]["user"] == getpass.getuser()
    assert isinstance(record["outputs"]["client"], str) and record["outputs"]["client"]


def test_this_save_message_name_and_output_value(engine, workspace):
    record, tree = run_flow(engine, workspace, "Saver", """
        def handler(system, this, inputs):
            this.set_output(draft=True)
            this.save(name='Nightly import', message='step 2 of 3')
            this.save(output_value={'rows': 10})
            this.set(message='step 3 of 3')
            this.set_output(seen=this.get('name'), seen_message=this.get('message'))
    """)
    assert record["status"] == "success", record["message"]
    assert record["name"] == "Nightly import"
    assert tree["name"] == "Nightly import"
    # save(output_value=...) replaced the outputs; set_output merged into them afterwards.
    assert record["outputs"] == {"rows": 10, "seen": "Nightly import", "seen_message": "step 3 of 3"}


def test_sleep_and_sleep_until(engine, workspace):
    record, _ = run_flow(engine, workspace, "Sleepy", """
        import datetime
        import time

        def handler(system, this, inputs):
            t0 = time.time()
            this.sleep(0.3)
            t1 = time.time()
            this.sleep_until(time.time() + 0.3)          # UNIX seconds, as library flows pass
            t2 = time.time()
            this.sleep_until(int(time.time()) - 60)      # in the past: returns at once
            t3 = time.time()
            this.set_output(sleep=t1 - t0, until=t2 - t1, past=t3 - t2)
    """)
    assert record["status"] == "success", record["message"]
    out = record["outputs"]
    assert 0.29 <= out["sleep"] < 5
    assert 0.25 <= out["until"] < 5
    assert out["past"] < 0.5


def test_exception_hierarchy_as_a_flow_sees_it(engine, workspace):
    record, _ = run_flow(engine, workspace, "Exceptions", """
        import flow_api
        from flow_api import exceptions

        EXPECTED = {
            'ResourceNotFoundError': 'EngineException',
            'DependencyFailedError': 'EngineException',
            'MissingInputError': 'EngineException',
            'InvalidInputError': 'EngineException',
            'PermissionDenied': 'EngineException',
            'InternalError': 'EngineException',
            'TimeoutExceededError': 'EngineException',
            'LockTimeoutError': 'TimeoutExceededError',
            'DependencyTimeoutError': 'TimeoutExceededError',
            'MessageResponseTimeoutError': 'TimeoutExceededError',
        }

        def handler(system, this, inputs):
            wrong = []
            for name, base in EXPECTED.items():
                cls = getattr(exceptions, name)
                if not issubclass(cls, getattr(exceptions, base)):
                    wrong.append(f'{name} is not a {base}')
                if getattr(flow_api, name) is not cls:
                    wrong.append(f'flow_api.{name} is not flow_api.exceptions.{name}')
            if not issubclass(exceptions.EngineException, Exception):
                wrong.append('EngineException is not an Exception')
            if flow_api.FlowApiError is not exceptions.EngineException:
                wrong.append('FlowApiError alias')
            if flow_api.FlowTimeoutError is not exceptions.TimeoutExceededError:
                wrong.append('FlowTimeoutError alias')
            try:
                system.setting('nope').get('value')
            except flow_api.EngineException as exc:
                caught = type(exc).__name__
            this.set_output(wrong=wrong, caught=caught)
    """)
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"wrong": [], "caught": "ResourceNotFoundError"}
