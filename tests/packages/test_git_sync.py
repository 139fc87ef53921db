"""Git sync carries requirements.txt: a workspace cloned elsewhere knows what to install."""

from __future__ import annotations

import shutil

from engine_core import Workspace, packages
from engine_core.store import Store
from engine_core.vcs import GitRepository, WorkspaceRepo
from support import EXAMPLES
from vcs.git_helpers import isolate_git, make_bare, seed_remote

from .conftest import write_requirements


def test_requirements_txt_travels_with_commit_all_push_and_pull(tmp_path, monkeypatch, wheels):
    isolate_git(monkeypatch, tmp_path / "home")
    seed = tmp_path / "seed"
    shutil.copytree(EXAMPLES, seed, ignore=shutil.ignore_patterns(".flowdesk"))
    remote = make_bare(tmp_path / "remote.git").as_uri()
    seed_remote(seed, remote)
    GitRepository.clone(remote, tmp_path / "alice")
    GitRepository.clone(remote, tmp_path / "bob")
    alice, bob = Workspace.open(tmp_path / "alice"), Workspace.open(tmp_path / "bob")

    write_requirements(alice.root, wheels, "greetlib==1.0")
    packages.install(alice.root)  # its .flowdesk/packages/ is never committed
    alice_repo = WorkspaceRepo.open(alice, Store(alice.default_db_url()))
    alice_repo.commit_all("alice: greetlib")
    alice_repo.push()
    result = WorkspaceRepo.open(bob, Store(bob.default_db_url())).pull()

    assert "requirements.txt" in result.changed
    assert not any(".flowdesk" in path for path in result.changed)
    assert (bob.root / "requirements.txt").read_text() == (alice.root / "requirements.txt").read_text()
    assert packages.needs_install(bob.root)
    assert packages.status(bob.root).missing == ["greetlib"]
