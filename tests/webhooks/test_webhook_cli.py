"""`flowdesk webhook ...` as a user runs it: records in webhooks/, created disabled, the key
printed once and kept out of the workspace's files."""

from __future__ import annotations

import json
import stat

from support import run_cli


def test_create_enable_key_url_list_delete(workspace):
    ws = str(workspace.root)
    created = run_cli("webhook", "create", "new-order", "Main Process", "-w", ws)
    assert created.returncode == 0, created.stderr
    assert "created for flow 'Main Process', disabled" in created.stdout
    key = created.stdout.split("never in the repository): ", 1)[1].strip()
    record = json.loads((workspace.root / "webhooks" / "new-order.json").read_text())
    assert record["enabled"] is False and record["flow"] == "Main Process" and record["key_required"] is True
    assert (workspace.root / "webhooks" / "new-order.json").read_text() == json.dumps(record, indent=2, sort_keys=True) + "\n"
    # The key is in no file outside .flowdesk/ (which Git never sees); its fallback file is private.
    for path in workspace.root.rglob("*"):
        if path.is_file() and ".flowdesk" not in path.parts:
            assert key.encode() not in path.read_bytes(), path
    secrets = workspace.root / ".flowdesk" / "secrets" / "webhook-keys.json"
    if secrets.exists():  # no keyring backend on this machine: the documented fallback
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
        assert stat.S_IMODE(secrets.parent.stat().st_mode) == 0o700

    assert run_cli("webhook", "key", "new-order", "-w", ws).stdout.strip() == key
    assert run_cli("webhook", "url", "new-order", "-w", ws, "--base", "http://127.0.0.1:9000").stdout.strip() == \
        f"http://127.0.0.1:9000/api/latest/webhook/new-order/call?key={key}"
    assert "new-order  disabled  key  → Main Process" in run_cli("webhook", "list", "-w", ws).stdout
    assert run_cli("webhook", "enable", "new-order", "-w", ws).returncode == 0
    assert json.loads(run_cli("webhook", "list", "--json", "-w", ws).stdout) == [
        {"name": "new-order", "flow": "Main Process", "enabled": True, "key_required": True}]
    regenerated = run_cli("webhook", "key", "new-order", "--regenerate", "-w", ws).stdout.strip()
    assert regenerated != key and run_cli("webhook", "key", "new-order", "-w", ws).stdout.strip() == regenerated
    assert run_cli("webhook", "delete", "new-order", "-w", ws).returncode == 0
    assert run_cli("webhook", "list", "-w", ws).stdout.startswith("no webhooks yet")


def test_mistakes_are_named(workspace):
    ws = str(workspace.root)
    unknown_flow = run_cli("webhook", "create", "x", "No Such Flow", "-w", ws)
    assert unknown_flow.returncode == 2 and "no flow 'No Such Flow'" in unknown_flow.stderr
    bad_name = run_cli("webhook", "create", "a/b", "Main Process", "-w", ws)
    assert bad_name.returncode == 1 and "is not a valid webhook name" in bad_name.stderr
    missing = run_cli("webhook", "enable", "ghost", "-w", ws)
    assert missing.returncode == 1 and "there is no webhook 'ghost'" in missing.stderr
    assert "Traceback" not in unknown_flow.stderr + bad_name.stderr + missing.stderr
    run_cli("webhook", "create", "x", "Main Process", "-w", ws)
    twice = run_cli("webhook", "create", "x", "Main Process", "-w", ws)
    assert twice.returncode == 1 and "exists already" in twice.stderr
