"""``flowdesk show ID --journal``, ``flowdesk prune`` and ``flowdesk replay``: the text a person
reads, and the commands run as a user runs them (a separate process)."""

import json
import time

import pytest

from engine_core.cli_durable import parse_duration, prune_summary
from engine_core.cli_output import journal_table
from support import run_cli

FAILS = """
import flow_api

def handler(system, this, inputs):
    target = system.setting('target').get()
    this.log(f'deploying to {target}')
    raise ValueError(f'no route to {target}')
"""


def _has(obj, *names):
    return all(hasattr(obj, n) for n in names)


def _store_has(*names):
    from engine_core.store import Store

    return _has(Store, *names)


def _engine_has(*names):
    from engine_core import Engine

    return _has(Engine, *names)


# -- what a person reads ------------------------------------------------------------------
def test_durations():
    assert parse_duration("30d") == 30 * 86400
    assert parse_duration("12h") == 12 * 3600
    assert parse_duration("90m") == 90 * 60
    result = run_cli("prune", "--older-than", "30 days")
    assert result.returncode == 2
    assert "'30 days' is not an age; write a number and d, h or m, e.g. 30d, 12h, 90m" in result.stderr


def test_prune_summary_text():
    report = {"executions": 1204, "replays": 0, "journal_entries": 88310}
    assert prune_summary(report) == "pruned 1,204 executions, 88,310 journal entries"
    report = {"executions": 1204, "replays": 3, "journal_entries": 88310, "bytes": 41 << 20}
    assert prune_summary(report) == "pruned 1,204 executions (3 replays), 88,310 journal entries, 41 MB freed"
    assert prune_summary(report, dry_run=True) == "would prune 1,204 executions (3 replays), 88,310 journal entries"
    assert prune_summary({"executions": 1, "journal_entries": 1}, journals_only=True) == \
        "pruned 1 journal entry of 1 execution"


def test_journal_table_text():
    record = {"id": 12, "name": "Deploy", "flow": "Deploy", "status": "error", "durable": True}
    entries = [
        {"seq": 1, "op": "setting_get", "target": "target", "args": '{"name":"target"}', "line": 4, "state": "done",
         "ok": True, "result": "prod", "ref": None, "called_at": 1.7e9, "answered_at": 1.7e9 + 0.002},
        {"seq": 2, "op": "setting_get", "target": "db_password", "args": '{"name":"db_password"}', "line": 5,
         "state": "done", "ok": True, "result": {"$flowdesk_secret": {"keyring_service": "flowdesk", "key": "k"}},
         "ref": None, "called_at": 1.7e9, "answered_at": 1.7e9},
        {"seq": 3, "op": "start_connector", "target": "REST", "args": '{"connector_type":"REST"}', "line": 9,
         "state": "done", "ok": False, "result": ["DependencyFailedError", "REST #14 failed: HTTP 500"],
         "ref": None, "called_at": 1.7e9, "answered_at": 1.7e9 + 1.5},
        {"seq": 4, "op": "sleep", "target": "", "args": "{}", "line": 11, "state": "pending", "ok": None,
         "result": None, "ref": {"until": 1.7e9 + 60}, "called_at": 1.7e9, "answered_at": None},
    ]
    text = journal_table(record, entries)
    print(text)
    lines = text.splitlines()
    assert lines[0] == "Journal of execution #12: Deploy (flow Deploy, error)"
    assert lines[1].split() == ["SEQ", "LINE", "CALL", "ANSWER", "CALLED", "TOOK"]
    assert lines[2].split()[:2] == ["1", "4"] and '"prod"' in lines[2] and lines[2].endswith("2 ms")
    assert "<secret setting 'k'>" in lines[3] and "flowdesk" not in lines[3].split("CALL")[0].replace("Deploy", "")
    assert "raised DependencyFailedError: REST #14 failed: HTTP 500" in lines[4] and lines[4].endswith("1.50 s")
    assert "pending" in lines[5] and "until" in lines[5]
    assert lines[-1] == "  4 calls, 1 pending"
    assert "no journal entries: it was not journaled" in journal_table({**record, "durable": False}, [])


# -- through the real command line ----------------------------------------------------------
def save_setting(workspace, name, value):
    from engine_core import Workspace
    from engine_core.runtime.engine import resolve_db_url
    from engine_core.store import Store

    store = Store(resolve_db_url(Workspace.open(workspace.root), None))
    try:
        store.save_setting(name, value)
    finally:
        store.close()


@pytest.fixture
def failed_run(workspace):
    workspace.write_flow("Deploy", FAILS)
    save_setting(workspace, "target", "prod")
    assert run_cli("run", "Deploy", "-w", str(workspace.root)).returncode == 1
    listing = json.loads(run_cli("executions", "-w", str(workspace.root), "--json").stdout)
    return workspace, listing[0]["id"]


@pytest.mark.skipif(not _store_has("journal"), reason="Store.journal (helper A) has not landed")
def test_show_journal(failed_run):
    workspace, execution_id = failed_run
    result = run_cli("show", str(execution_id), "--journal", "-w", str(workspace.root))
    assert result.returncode == 0, result.stderr
    print(result.stdout)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Journal of execution #{execution_id}: Deploy (flow Deploy, error)")
    call = next(line for line in lines if "setting" in line and "target" in line)
    assert call.split()[:2] == ["1", "4"]  # seq 1, line 4 of the flow
    entries = json.loads(run_cli("show", str(execution_id), "--journal", "--json", "-w", str(workspace.root)).stdout)
    assert [(e["seq"], e["op"], e["line"]) for e in entries][0] == (1, "setting_get", 4)


@pytest.mark.skipif(not _store_has("prune"), reason="Store.prune (helper A) has not landed")
def test_prune(failed_run):
    workspace, execution_id = failed_run
    ws = str(workspace.root)
    result = run_cli("prune", "--older-than", "30d", "-w", ws)
    assert result.returncode == 0 and result.stdout.strip() == "pruned 0 executions, 0 journal entries"
    time.sleep(0.1)
    result = run_cli("prune", "--older-than", "0m", "--dry-run", "-w", ws)
    assert result.stdout.startswith("would prune 1 execution, ") and "journal entr" in result.stdout
    assert json.loads(run_cli("executions", "-w", ws, "--json").stdout)  # still there
    result = run_cli("prune", "--older-than", "0m", "--journals-only", "-w", ws)
    assert result.stdout.startswith("pruned ") and "journal entr" in result.stdout, result.stdout
    assert json.loads(run_cli("show", str(execution_id), "--journal", "--json", "-w", ws).stdout) == []
    result = run_cli("prune", "--older-than", "0m", "-w", ws)
    assert result.stdout.startswith("pruned 1 execution, "), result.stdout
    assert json.loads(run_cli("executions", "-w", ws, "--json").stdout) == []


@pytest.mark.skipif(not _engine_has("replay", "continue_replay"), reason="Engine.replay (helper C2) has not landed")
def test_replay_without_debugger_reproduces_the_failure(failed_run):
    workspace, execution_id = failed_run
    ws = str(workspace.root)
    original = json.loads(run_cli("show", str(execution_id), "--json", "-w", ws).stdout)
    save_setting(workspace, "target", "changed since")
    result = run_cli("replay", str(execution_id), "--no-debug", "-w", ws)
    print(result.stdout, result.stderr)
    assert result.returncode == 1
    assert f"replaying execution #{execution_id} as #" in result.stdout
    assert original["message"] in result.stdout  # the same error, with the recorded setting
    assert "changed since" not in result.stdout
    listing = json.loads(run_cli("executions", "-w", ws, "--json").stdout)
    replay = next(r for r in listing if r["id"] != execution_id)
    assert replay.get("replay_of") in (execution_id, None)
    assert json.loads(run_cli("show", str(execution_id), "--json", "-w", ws).stdout) == original


@pytest.mark.skipif(not _engine_has("replay", "continue_replay"), reason="Engine.replay (helper C2) has not landed")
def test_replay_of_an_edited_flow_stops_at_the_end_of_the_recording(failed_run):
    workspace, execution_id = failed_run
    ws = str(workspace.root)
    workspace.write_flow("Deploy", FAILS.replace("    raise", "    system.setting('other').get()\n    raise"))
    result = run_cli("replay", str(execution_id), "--no-debug", "-w", ws, stdin=None)
    print(result.stdout, result.stderr)
    assert "end of the recording" in result.stdout
    assert "stopping the replay here" in result.stdout  # not a terminal: it does not ask
    assert result.returncode == 1
    result = run_cli("replay", str(execution_id), "--no-debug", "--live", "-w", ws)
    # --live: the engine goes on live by itself, and the new call acts for real (no such setting)
    assert "stopping the replay here" not in result.stdout and "'other'" in result.stdout, result.stdout


def test_replay_of_a_missing_execution(workspace):
    if not _engine_has("replay"):
        pytest.skip("Engine.replay (helper C2) has not landed")
    result = run_cli("replay", "9999", "--no-debug", "-w", str(workspace.root))
    assert result.returncode in (1, 2)
    assert "9999" in result.stderr and "Traceback" not in result.stderr


def test_a_recorded_get_of_outputs_shows_the_values_not_escaped_json():
    from engine_core.cli_output import journal_answer

    entry = {"state": "done", "ok": True, "result": {"output_value": '{"result":42}', "status": "success"}}
    assert journal_answer(entry) == '{"output_value": {"result": 42}, "status": "success"}'
