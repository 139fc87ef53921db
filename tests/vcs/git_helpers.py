"""Real repositories for the Git tests: bare remotes (file:// and git daemon), workspaces
cloned from them, a git identity that works on a clean CI machine, and a file keyring."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import keyring.backend
from support import free_port

IDENTITY = {"GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
            "GIT_COMMITTER_NAME": "Test Committer", "GIT_COMMITTER_EMAIL": "committer@example.com"}


def isolate_git(monkeypatch, home: Path) -> None:
    """HOME without any git config (as on a clean CI machine); identity from the environment."""
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_bare(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def seed_remote(workspace_root: Path, url: str) -> None:
    """Make the example workspace the remote's first commit on main."""
    from engine_core.vcs import GitRepository

    repo = GitRepository.init(workspace_root)
    repo.repo.create_remote("origin", url)
    repo.stage_workspace()
    repo.commit("seed")
    repo.push()


class GitDaemon:
    """``git daemon`` on 127.0.0.1 serving every repository under ``base`` (push enabled)."""

    def __init__(self, base: Path):
        self.base = base
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all", "--enable=receive-pack",
             f"--port={self.port}", "--listen=127.0.0.1", "--informative-errors", str(base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"git daemon exited: {self.proc.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("git daemon did not start listening within 10 s")

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class FileKeyring(keyring.backend.KeyringBackend):
    """A plain JSON-file keyring, for tests only: it stands in for the OS keyring because no
    Secret Service (or any other keyring daemon) runs on this headless test machine. It is a
    real keyring backend: Flowdesk reaches it through keyring's public API, as it would the
    system one."""

    priority = 1

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def _load(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\0{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        data.pop(f"{service}\0{username}", None)
        self.path.write_text(json.dumps(data))


def copy_examples(dest: Path) -> Path:
    from support import EXAMPLES

    shutil.copytree(EXAMPLES, dest, ignore=shutil.ignore_patterns(".flowdesk"))
    return dest


def env_without_identity() -> dict:
    return {k: v for k, v in os.environ.items() if k not in IDENTITY}
