"""A remote URL carrying a token (``https://alice:TOKEN@host/x.git``) never shows the token in a
Git error (issue 10): clone, fetch/pull and push failures name the URL with the token masked."""

from __future__ import annotations

import socket
import subprocess

import pytest

from engine_core.vcs import GitError, GitRepository
from engine_core.vcs.clone import run_clone

TOKEN = "ghp_PlantedToken0123456789"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("url", [
    f"https://alice:{TOKEN}@127.0.0.1:{{port}}/team/flows.git",
    f"http://{TOKEN}@127.0.0.1:{{port}}/team/flows.git",  # token-only userinfo
])
def test_clone_failure_masks_the_token(tmp_path, url):
    url = url.format(port=_closed_port())
    with pytest.raises(GitError) as failure:
        run_clone(url, tmp_path / "clone", None, None)
    text = str(failure.value)
    assert TOKEN not in text, text
    assert "cannot reach" in text and "********@127.0.0.1" in text, text
    assert not (tmp_path / "clone").exists()


def test_fetch_and_push_failures_mask_the_token(tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q",
                    "--allow-empty", "-m", "first"], check=True)
    subprocess.run(["git", "-C", str(repo), "remote", "add", "origin",
                    f"https://alice:{TOKEN}@127.0.0.1:{_closed_port()}/x.git"], check=True)
    repository = GitRepository.open(repo)
    for action in (repository.fetch, repository.push):
        with pytest.raises(GitError) as failure:
            action()
        assert TOKEN not in str(failure.value) and "alice:********@127.0.0.1" in str(failure.value), failure.value
