"""Fixtures for the Git tests: an isolated git identity, a bare remote seeded with the
example workspace, clones of it, a git daemon, a file keyring."""

from __future__ import annotations

import pytest

from git_helpers import FileKeyring, GitDaemon, copy_examples, isolate_git, make_bare, seed_remote


@pytest.fixture(autouse=True)
def git_identity(tmp_path, monkeypatch):
    isolate_git(monkeypatch, tmp_path / "home")


@pytest.fixture
def remote(tmp_path):
    """A bare repository holding the example workspace on main; its file:// URL."""
    bare = make_bare(tmp_path / "remote.git")
    seed_remote(copy_examples(tmp_path / "seed"), bare.as_uri())
    return bare.as_uri()


@pytest.fixture
def clone(tmp_path, remote):
    """clone('alice') -> a workspace (Workspace) cloned from the remote."""
    from engine_core import Workspace
    from engine_core.vcs import GitRepository

    def make(name: str, url: str = remote):
        GitRepository.clone(url, tmp_path / name)
        return Workspace.open(tmp_path / name)
    return make


@pytest.fixture
def daemon(tmp_path):
    base = tmp_path / "served"
    base.mkdir()
    running = GitDaemon(base)
    yield running
    running.stop()


@pytest.fixture
def file_keyring(tmp_path):
    import keyring

    previous = keyring.get_keyring()
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
