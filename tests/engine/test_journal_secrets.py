"""Secrets never reach the journal in clear (issue 13): a flow reads a secret setting, calls a
stored connector record whose password is in the keyring, and passes the secret setting's value
as a connector password; the engine is killed with SIGKILL while the flow sleeps, a new engine
resumes it. A dump of every table of the database, taken at the kill and at the end, holds
neither secret (nor the Basic auth header made of them); the journal keeps a keyring reference
for the secret setting's value; and the resume still works: the calls after the sleep
authenticate with the secret resolved from the keyring.

One exception is outside the journal and older than it: the ``settings`` table keeps the engine's
copy of a secret setting's value (engine_core/vcs/settings_files.py: "the engine reads settings
there"); that one cell is left out of the search, and only that one.

The keyring is a real ``keyring`` backend in a JSON file (this machine runs no Secret Service),
chosen with ``PYTHON_KEYRING_BACKEND`` so the killed engine's process uses it too."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from support import QuietHandler, send_json
from test_durable_kill9 import HOST_OPTIONS, Db, Host, database, ended, wait_for  # noqa: F401  (fixtures)

SECRET = "Setting-S3cret-9f2d71"
CONN_PASSWORD = "Conn-Pa55-41c8be"
BASIC = {"/record": ("alice", CONN_PASSWORD), "/direct": ("bob", SECRET), "/after": ("bob", SECRET)}
CLEAR = (SECRET, CONN_PASSWORD,
         base64.b64encode(f"alice:{CONN_PASSWORD}".encode()).decode(),
         base64.b64encode(f"bob:{SECRET}".encode()).decode())

KEYRING_MODULE = '''
import json, os
from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    """A JSON-file keyring for tests (no Secret Service on this machine)."""
    priority = 1

    def _load(self):
        path = os.environ["FLOWDESK_TEST_KEYRING"]
        return json.load(open(path)) if os.path.exists(path) else {}

    def get_password(self, service, username):
        return self._load().get(service + "\\0" + username)

    def set_password(self, service, username, password):
        data = self._load()
        data[service + "\\0" + username] = password
        json.dump(data, open(os.environ["FLOWDESK_TEST_KEYRING"], "w"))

    def delete_password(self, service, username):
        data = self._load()
        data.pop(service + "\\0" + username, None)
        json.dump(data, open(os.environ["FLOWDESK_TEST_KEYRING"], "w"))
'''

FLOW = """
import hashlib

def handler(system, this, inputs):
    pw = system.setting('db_password').get('value')
    first = this.connect('crm', json={'step': 'record'})
    second = this.connect('REST', url=inputs['url'] + '/direct', method='POST', username='bob', password=pw,
                          json={'step': 'direct'})
    this.sleep(inputs['sleep'])
    third = this.connect('REST', url=inputs['url'] + '/after', method='POST', username='bob', password=pw,
                         json={'step': 'after'})
    this.set_output(pw_sha=hashlib.sha256(pw.encode()).hexdigest(),
                    auth=[c.get('output_value')['json']['auth'] for c in (first, second, third)])
    return this.success('all authenticated')
"""


class Checker(QuietHandler):
    """Answers 200 {"auth": "ok"} when the Basic auth is the one expected for the path, else 401."""

    hits: list = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        path = self.path.rsplit("/", 1)[-1]
        user, password = BASIC["/" + path]
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        ok = self.headers.get("Authorization") == expected
        type(self).hits.append(("/" + path, ok))
        data = json.dumps({"auth": "ok" if ok else "refused"}).encode()
        send_json(self, 200 if ok else 401, data)


@pytest.fixture
def file_keyring(tmp_path, monkeypatch):
    """The keyring backend of this process and of the processes it starts (the engine host)."""
    import sys

    import keyring

    # Taken before PYTHON_KEYRING_BACKEND is set: keyring chooses its backend lazily, on the
    # first call, and would otherwise choose this test's, which later tests of the same
    # process then met without its FLOWDESK_TEST_KEYRING (a KeyError in the connector form test).
    previous = keyring.get_keyring()
    folder = tmp_path / "keyring module"
    folder.mkdir()
    (folder / "flowdesk_test_keyring.py").write_text(KEYRING_MODULE, encoding="utf-8")
    monkeypatch.setenv("FLOWDESK_TEST_KEYRING", str(tmp_path / "keyring.json"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "flowdesk_test_keyring.FileKeyring")
    monkeypatch.setenv("PYTHONPATH", ":".join(filter(None, [str(folder), __import__("os").environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(str(folder))
    import flowdesk_test_keyring

    keyring.set_keyring(flowdesk_test_keyring.FileKeyring())
    yield tmp_path / "keyring.json"
    keyring.set_keyring(previous)
    sys.modules.pop("flowdesk_test_keyring", None)


def _leaks(dump: dict[str, list[dict]]) -> list[str]:
    found = []
    for table, rows in dump.items():
        for row in rows:
            if table == "settings" and row.get("name") == "db_password":
                # the engine's own copy of the secret setting (see the module docstring)
                row = {k: v for k, v in row.items() if k != "value"}
            for column, value in row.items():
                if value is None:
                    continue
                text = value.decode("utf-8", "replace") if isinstance(value, (bytes, memoryview)) else str(value)
                for secret in CLEAR:
                    if secret in text:
                        found.append(f"{table}.{column} holds {secret!r}: {text[:300]}")
    return found


def test_secrets_are_references_in_the_journal_and_resume_resolves_them(workspace, tmp_path, database,
                                                                       file_keyring):
    from engine_core import Engine, EngineOptions, Store
    from engine_core.connectors import records
    from engine_core.vcs.settings_files import mark_secret
    from engine_core.workspace import Workspace
    from support import serving_http

    url = database(workspace.root)
    workspace.write_flow("Secretive", FLOW)
    store = Store(url)
    store.save_setting("db_password", SECRET)
    key = mark_secret(workspace.root, Workspace.open(workspace.root).state_dir, store, "db_password")
    store.close()
    assert SECRET not in (workspace.root / "settings").joinpath(
        next(p.name for p in (workspace.root / "settings").iterdir() if "db_password" in p.name)).read_text()
    assert json.loads(file_keyring.read_text())[f"flowdesk\0{key}"], "the secret is in the keyring"

    handler = type("Hits", (Checker,), {"hits": []})
    with serving_http(handler) as server:
        base = f"http://127.0.0.1:{server.server_address[1]}/api"
        records.save(workspace.root, "crm", "REST",
                     {"url": base + "/record", "method": "POST", "username": "alice", "password": CONN_PASSWORD})
        assert CONN_PASSWORD not in (workspace.root / "connectors" / "crm.json").read_text()

        host = Host(workspace.root, url, [("Secretive", {"url": base, "sleep": 3.0})], options=HOST_OPTIONS,
                    log_dir=tmp_path)
        db = Db(url)
        try:
            (root_id,) = host.ids
            wait_for(lambda: db.rows("SELECT * FROM journal WHERE execution_id = :e AND op = 'sleep' "
                                     "AND state = 'pending'", e=root_id),
                     "the flow's sleep to be journaled pending",
                     detail=lambda: f"executions: {db.rows('SELECT id, flow, status, message FROM executions')}; "
                                    f"host stderr: {host.stderr()}",
                     give_up=lambda: ended(db, root_id) or host.dead())
            host.kill9()
        finally:
            host.ensure_dead()
        assert handler.hits == [("/record", True), ("/direct", True)], handler.hits

        at_kill = db.dump()
        assert not _leaks(at_kill), "\n".join(_leaks(at_kill))
        (read,) = [e for e in db.journal(root_id) if e["op"] == "setting_get"]
        assert read["target"] == "db_password" and "$flowdesk_secret" in (read["result"] or ""), read

        with Engine(workspace.root, db_url=url, options=EngineOptions(warm_workers=2, memory_limit_mb=1024)) as engine:
            record = engine.wait(root_id, timeout=60)
        assert (record["status"], record["message"]) == ("success", "all authenticated"), record
        assert record["outputs"] == {"pw_sha": hashlib.sha256(SECRET.encode()).hexdigest(), "auth": ["ok"] * 3}
        assert handler.hits == [("/record", True), ("/direct", True), ("/after", True)], handler.hits

        at_end = db.dump()
        db.close()
    assert not _leaks(at_end), "\n".join(_leaks(at_end))
    assert any(r["resumed_at"] is not None for r in at_end["executions"] if r["id"] == root_id)
    # The search itself works: the settings table's copy is where the clear value is expected.
    assert any(SECRET in str(r["value"]) for r in at_end["settings"] if r["name"] == "db_password")
