"""Settings as files: readable, stable text; carried by commit/pull into another workspace's
database; deletions travel; secrets go to the keyring and only a reference is committed."""

from __future__ import annotations

import json

import pytest

from engine_core.vcs import WorkspaceRepo
from engine_core.vcs import settings_files
from git_helpers import git


def _store(workspace):
    from engine_core.store import Store

    return Store(workspace.default_db_url())


def test_file_names_round_trip_odd_setting_names():
    for name in ("plain", "with space", "a/b", ".hidden", "ünïcode", "100%"):
        filename = settings_files.file_name(name)
        assert "/" not in filename and not filename.startswith(".")
        assert settings_files.setting_name(filename) == name


def test_rendering_is_stable_and_readable():
    text = settings_files.render({"b": 1, "a": {"z": [1, 2], "y": "ü"}})
    assert text == '{\n  "a": {\n    "y": "ü",\n    "z": [\n      1,\n      2\n    ]\n  },\n  "b": 1\n}\n'


def test_settings_travel_by_commit_and_pull(clone):
    alice, bob = clone("alice"), clone("bob")
    alice_store, bob_store = _store(alice), _store(bob)
    alice_store.save_setting("api config", {"url": "https://example.com", "retries": 3})
    alice_store.save_setting("threshold", 7)
    bob_store.save_setting("bob only", "local, never exported by alice")
    alice_repo = WorkspaceRepo.open(alice, alice_store)
    alice_repo.commit_all("settings")
    alice_repo.push()
    committed = git(alice.root, "show", "HEAD:settings/api config.json")
    assert committed == '{\n  "retries": 3,\n  "url": "https://example.com"\n}\n'

    WorkspaceRepo.open(bob, bob_store).pull()
    assert bob_store.settings() == {"api config": {"url": "https://example.com", "retries": 3}, "threshold": 7,
                                    "bob only": "local, never exported by alice"}

    # A change and a deletion on alice's side reach bob's database too.
    alice_store.save_setting("threshold", 8)
    alice_store.delete_setting("api config")
    alice_repo.commit_all("change and delete")
    alice_repo.push()
    assert not (alice.root / "settings" / "api config.json").exists()
    WorkspaceRepo.open(bob, bob_store).pull()
    assert bob_store.settings() == {"threshold": 8, "bob only": "local, never exported by alice"}


def test_an_unchanged_setting_is_not_rewritten(clone):
    ws = clone("alice")
    store = _store(ws)
    store.save_setting("s", {"k": 1})
    repo = WorkspaceRepo.open(ws, store)
    repo.commit_all("s")
    assert repo.export_settings().to_files == []
    assert repo.repository.status().files == []


def test_a_fresh_clone_imports_files_instead_of_deleting_them(clone):
    """The new workspace's empty database must not be taken as 'all settings deleted'."""
    alice = clone("alice")
    store = _store(alice)
    store.save_setting("kept", [1, 2])
    WorkspaceRepo.open(alice, store).commit_all("kept")
    WorkspaceRepo.open(alice).push()
    carol = clone("carol")
    carol_store = _store(carol)
    report = WorkspaceRepo.open(carol, carol_store).export_settings()
    assert report.to_database == ["kept"] and carol_store.settings() == {"kept": [1, 2]}
    assert (carol.root / "settings" / "kept.json").is_file()


def test_invalid_json_in_a_settings_file_is_a_warning_not_a_loss(clone):
    ws = clone("alice")
    store = _store(ws)
    store.save_setting("s", 1)
    repo = WorkspaceRepo.open(ws, store)
    repo.commit_all("s")
    (ws.root / "settings" / "s.json").write_text("{broken")
    report = repo.import_settings()
    assert any("not valid JSON" in w for w in report.warnings)
    assert store.settings() == {"s": 1}
    assert (ws.root / "settings" / "s.json").read_text() == "{broken"


def test_secret_settings_live_in_the_keyring_and_only_a_reference_is_committed(clone, file_keyring):
    alice, bob = clone("alice"), clone("bob")
    alice_store, bob_store = _store(alice), _store(bob)
    alice_store.save_setting("api token", {"token": "s3cr3t-value"})
    key = settings_files.mark_secret(alice.root, alice.state_dir, alice_store, "api token")
    alice_repo = WorkspaceRepo.open(alice, alice_store)
    alice_repo.commit_all("secret")
    alice_repo.push()
    committed = git(alice.root, "show", "HEAD:settings/api token.json")
    assert "s3cr3t" not in committed and json.loads(committed) == {"$flowdesk_secret": {
        "keyring_service": "flowdesk", "key": key}}
    assert "s3cr3t" not in git(alice.root, "log", "-p", "--all")
    assert json.loads(file_keyring.get_password("flowdesk", key)) == {"token": "s3cr3t-value"}

    # Bob's machine shares this test keyring, so his database gets the value on pull.
    WorkspaceRepo.open(bob, bob_store).pull()
    assert bob_store.settings()["api token"] == {"token": "s3cr3t-value"}

    # A changed secret goes to the keyring; the file (and so the repository) does not change.
    alice_store.save_setting("api token", {"token": "rotated"})
    alice_repo.export_settings()
    assert json.loads(file_keyring.get_password("flowdesk", key)) == {"token": "rotated"}
    assert alice_repo.repository.status().files == []


def test_a_secret_missing_from_the_keyring_is_a_warning(clone, file_keyring):
    alice, bob = clone("alice"), clone("bob")
    alice_store = _store(alice)
    alice_store.save_setting("pw", "hunter2")
    key = settings_files.mark_secret(alice.root, alice.state_dir, alice_store, "pw")
    repo = WorkspaceRepo.open(alice, alice_store)
    repo.commit_all("secret")
    repo.push()
    file_keyring.delete_password("flowdesk", key)  # bob's machine has never seen it
    bob_repo = WorkspaceRepo.open(bob, _store(bob))
    bob_repo.pull()
    assert any("no value in this machine's keyring" in w and key in w for w in bob_repo.warnings)
    assert "pw" not in _store(bob).settings()


def test_no_keyring_backend_is_a_clear_error(clone, monkeypatch):
    import keyring
    from keyring.backends.fail import Keyring as FailKeyring

    from engine_core.vcs.secrets import SecretError

    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        ws = clone("alice")
        store = _store(ws)
        store.save_setting("pw", "x")
        with pytest.raises(SecretError, match="system keyring is not available"):
            settings_files.mark_secret(ws.root, ws.state_dir, store, "pw")
    finally:
        keyring.set_keyring(previous)
