"""Stored connector records: connectors/<name>.json without secrets (they are in the keyring, or
in .flowdesk/secrets/ where no keyring works), load/resolve with the call's overrides, the
`flowdesk connector` commands, and a flow calling a REST record against a real HTTP server."""

from __future__ import annotations

import argparse
import base64
import json
import stat
import textwrap

import pytest

from engine_core.connectors import MASK, records
from engine_core.connectors import cli as connector_cli
from support import QuietHandler, send_json, serving_http

SECRET = "s3cret-Pa55"


def record_text(workspace, name: str) -> str:
    return (workspace.root / "connectors" / f"{name}.json").read_text(encoding="utf-8")


def secret_files(workspace) -> list:
    folder = workspace.root / ".flowdesk" / "secrets"
    return sorted(folder.iterdir()) if folder.is_dir() else []


class MemoryKeyring:
    """A keyring backend holding passwords in this process. Used only to cover the keyring path:
    this machine has no Secret Service (D-Bus) for a real system keyring, so keyring's own
    choice here is its 'fail' backend (the fallback tests below use that one, unchanged)."""

    def __init__(self):
        from keyring.backend import KeyringBackend

        store: dict = {}

        class Backend(KeyringBackend):
            priority = 1

            def get_password(self, service, username):
                return store.get((service, username))

            def set_password(self, service, username, password):
                store[(service, username)] = password

            def delete_password(self, service, username):
                store.pop((service, username), None)

        self.store = store
        self.backend = Backend()


@pytest.fixture
def memory_keyring():
    import keyring

    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory.backend)
    yield memory
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring():
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


# -- the record file and its secrets ---------------------------------------------------------

def test_saved_password_is_not_in_the_file_and_loading_gives_it_back(workspace, no_keyring):
    records.save(workspace, "crm-api", "REST", {"url": "http://crm.local", "username": "alice", "password": SECRET})
    text = record_text(workspace, "crm-api")
    assert SECRET not in text
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"  # Git-friendly: stable and readable
    assert data == {"type": "REST", "inputs": {"url": "http://crm.local", "username": "alice",
                                                "password": {"secret": "file"}}}
    # No keyring works: the secret is in .flowdesk/secrets/, for this user only, never synced.
    (secret_file,) = secret_files(workspace)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret_file.parent.stat().st_mode) == 0o700
    assert (workspace.root / ".flowdesk" / ".gitignore").read_text() == "*\n"
    assert records.load(workspace, "crm-api") == ("REST", {"url": "http://crm.local", "username": "alice",
                                                           "password": SECRET})
    assert records.names(workspace) == ["crm-api"]
    assert records.types(workspace) == {"crm-api": "REST"}  # what the editor completes and lints with


def test_secrets_go_to_the_keyring_when_one_works(workspace, memory_keyring):
    records.save(workspace, "crm-api", "rest", {"url": "http://crm.local", "token": SECRET})
    data = json.loads(record_text(workspace, "crm-api"))
    assert data == {"type": "REST", "inputs": {"url": "http://crm.local", "token": {"secret": "keyring"}}}
    assert list(memory_keyring.store) == [("flowdesk", "connector/crm-api/token")]  # vcs.secrets' service
    assert secret_files(workspace) == []
    assert records.load(workspace, "crm-api")[1]["token"] == SECRET
    records.delete(workspace, "crm-api")
    assert memory_keyring.store == {} and records.names(workspace) == []


def test_a_test_registered_connectors_declared_secrets_are_kept_out(workspace, no_keyring):
    from engine_core import connectors
    from engine_core.connectors import Param

    connectors.register("VAULTISH", lambda this, params: {}, params=[
        Param("address", required=True), Param("unlock_phrase", secret=True, doc="not a usual secret name")])
    try:
        records.save(workspace, "vault", "VAULTISH", {"address": "x", "unlock_phrase": SECRET})
        assert SECRET not in record_text(workspace, "vault")
        assert records.load(workspace, "vault")[1] == {"address": "x", "unlock_phrase": SECRET}
    finally:
        connectors._registry.pop("VAULTISH", None)  # other tests list the connector types


def test_saving_again_without_a_secret_removes_the_old_one(workspace, no_keyring):
    records.save(workspace, "crm-api", "REST", {"url": "http://a", "password": SECRET})
    records.save(workspace, "crm-api", "REST", {"url": "http://b"})
    assert secret_files(workspace) == []
    assert records.load(workspace, "crm-api") == ("REST", {"url": "http://b"})


def test_resolve_overrides_the_records_inputs_and_leaves_types_alone(workspace, no_keyring):
    records.save(workspace, "crm-api", "REST", {"url": "http://crm.local", "method": "GET", "password": SECRET})
    assert records.resolve(workspace, "crm-api", {"method": "POST", "path": "/users"}) == (
        "REST", {"url": "http://crm.local", "method": "POST", "password": SECRET, "path": "/users"})
    assert records.resolve(workspace, "REST", {"url": "http://x"}) == ("REST", {"url": "http://x"})
    assert records.resolve(workspace, "no/such", {"a": 1}) == ("no/such", {"a": 1})


def test_missing_secret_and_missing_record_say_what_to_do(workspace, no_keyring):
    records.save(workspace, "crm-api", "REST", {"url": "http://a", "password": SECRET})
    for path in secret_files(workspace):
        path.unlink()  # e.g. the record came with a git pull from another machine
    with pytest.raises(records.RecordError, match=r"crm-api.*password is not stored on this machine.*save the record"):
        records.load(workspace, "crm-api")
    with pytest.raises(records.RecordError, match=r"no connector record 'nope'.*records there: 'crm-api'"):
        records.load(workspace, "nope")
    with pytest.raises(records.ConnectorError, match="unknown connector type 'RETS'"):
        records.save(workspace, "x", "RETS", {})


# -- flowdesk connector ... -------------------------------------------------------------------

def connector_command(capsys, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="flowdesk")
    connector_cli.add_parser(parser.add_subparsers(dest="command"))
    code = connector_cli.run(parser.parse_args(["connector", *argv]))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_save_list_show_delete_never_prints_the_secret(workspace, capsys, no_keyring):
    w = ("-w", str(workspace.root))
    code, out, err = connector_command(capsys, "save", "crm-api", "REST", *w, "--input", 'url="http://crm.local"',
                                       "--input", f'password="{SECRET}"', "--input", "read_timeout=5")
    assert code == 0, err
    assert "saved connector record 'crm-api' (REST)" in out and "no system keyring works here" in out
    code, out, _ = connector_command(capsys, "list", *w)
    assert (code, out) == (0, "crm-api  REST\n")
    code, out, _ = connector_command(capsys, "show", "crm-api", *w)
    assert code == 0 and SECRET not in out
    assert out == textwrap.dedent(f"""\
        crm-api: REST
          password = "{MASK}"
          read_timeout = 5
          url = "http://crm.local"
    """)
    code, out, err = connector_command(capsys, "save", "bad", "GTI", *w)
    assert code == 1 and "unknown connector type 'GTI'" in err and not out
    code, out, _ = connector_command(capsys, "delete", "crm-api", *w)
    assert (code, out) == (0, "deleted connector record 'crm-api'\n")
    assert secret_files(workspace) == []
    code, out, err = connector_command(capsys, "show", "crm-api", *w)
    assert code == 1 and "no connector record 'crm-api'" in err


# -- a flow calling a record ------------------------------------------------------------------

class _AuthEcho(QuietHandler):
    def do_GET(self):  # noqa: N802 - the name http.server calls
        payload = json.dumps({"path": self.path, "authorization": self.headers.get("Authorization")}).encode()
        send_json(self, 200, payload)


@pytest.fixture
def http_server():
    with serving_http(_AuthEcho) as server:
        yield server.server_address[1]


def test_flow_connects_to_a_rest_record_with_overrides(engine, workspace, http_server, no_keyring):
    records.save(workspace, "my-api", "REST", {"scheme": "http", "host": "127.0.0.1", "port": http_server,
                                               "path": "/default", "username": "alice", "password": SECRET})
    workspace.write_flow("Use Record", """
        def handler(system, this, inputs):
            answer = this.connect('my-api', path='/x').get('output_value')
            this.set_output(answer=answer['json'])
    """)
    record = engine.run("Use Record", None, timeout=60)
    assert record["status"] == "success", record["message"]
    expected_auth = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert record["outputs"]["answer"] == {"path": "/x", "authorization": expected_auth}
    (child,) = engine.tree(record["id"])["children"]
    assert (child["flow"], child["name"], child["status"]) == ("REST", "my-api", "success")
    assert child["inputs"]["path"] == "/x" and child["inputs"]["password"] == MASK
    assert SECRET not in json.dumps(engine.tree(record["id"]))


def test_a_workspace_given_as_a_path_is_that_folder(tmp_path):
    """A pathlib.Path names the workspace folder (its ``.root`` attribute is "/", not a workspace's root)."""
    from engine_core.connectors import records

    (tmp_path / "flows").mkdir()
    records.save(tmp_path, "crm-api", "REST", {"url": "http://127.0.0.1:9/"})
    assert (tmp_path / "connectors" / "crm-api.json").is_file()
    assert records.names(tmp_path) == ["crm-api"] and records.names(str(tmp_path)) == ["crm-api"]
