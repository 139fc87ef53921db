"""The seed page's examples, unchanged, end to end through the command line."""

from support import run_cli, run_cli_json


def test_main_process_passes_values_through_calculator_and_messenger(workspace):
    code, tree = run_cli_json("run", "Main Process", "--workspace", str(workspace))
    assert code == 0
    assert (tree["flow"], tree["status"], tree["message"]) == ("Main Process", "success", "all done")
    calc, messenger = tree["children"]
    assert (calc["name"], calc["flow"], calc["status"]) == ("calculate new value", "Calculator", "success")
    assert calc["inputs"] == {"initial_value": 42}
    assert calc["outputs"] == {"result": 42}
    assert (messenger["name"], messenger["flow"]) == ("create message with result", "Messenger")
    assert messenger["inputs"] == {"message_value": 42}
    assert messenger["messages"] == [{"at": messenger["messages"][0]["at"], "subject": "Message",
                                      "message": " The value is: 42"}]
    assert set(tree) >= {"id", "flow", "name", "status", "inputs", "outputs", "message", "logs", "messages", "children"}


def test_human_output_shows_the_tree_as_it_runs(workspace):
    result = run_cli("run", "Main Process", "--workspace", str(workspace))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "▶ #1 Main Process: running"
    assert "✉   #3 create message with result (Messenger): Message:  The value is: 42" in lines
    assert lines[-1] == "✔ #1 Main Process: success — all done"


def test_setting_passed_to_child_is_written_for_the_parent(workspace):
    code, tree = run_cli_json("run", "Pass a Setting", "--workspace", str(workspace))
    assert code == 0
    assert tree["children"][0]["name"] == "write setting"
    from engine_core import Store
    from engine_core.runtime.engine import resolve_db_url
    from engine_core.workspace import Workspace

    store = Store(resolve_db_url(Workspace.open(workspace.root), None))
    assert store.settings() == {"my-setting": "my value"}
    store.close()


def test_error_handling_example_catches_a_failed_child(workspace):
    workspace.write_flow("my_other_flow_name", """
        def handler(system, this, inputs):
            raise ValueError('broken on purpose')
    """)
    code, tree = run_cli_json("run", "Handle Errors", "--workspace", str(workspace))
    assert code == 0
    assert [entry["text"] for entry in tree["logs"]] == ["my_other_flow_name failed"]
    assert tree["children"][0]["status"] == "error"
    assert tree["children"][0]["message"].startswith("ValueError: broken on purpose (flow 'my_other_flow_name', line 2)")


def test_error_handling_example_with_a_succeeding_child(workspace):
    code, tree = run_cli_json("run", "Handle Errors", "--workspace", str(workspace))
    assert code == 0
    assert [entry["text"] for entry in tree["logs"]] == ["my_other_flow_name succeeded"]


def test_uncaught_child_failure_fails_the_parent_naming_the_child(workspace):
    workspace.write_flow("my_other_flow_name", """
        def handler(system, this, inputs):
            return this.error('no disk space left')
    """)
    code, tree = run_cli_json("run", "Create Child", "--workspace", str(workspace))
    assert code == 1
    assert tree["status"] == "error"
    assert tree["message"] == ("child execution 'my_other_flow_name' (#2) failed: no disk space left "
                               "(flow 'Create Child', line 4)")
