"""The GIT connector: read a commit of a remote repository (GitPython driving the git program).

``this.connect('GIT', command='get', repository_url=..., ref=..., files_path=...)``:

- ``command='metadata'`` outputs the commit: ``commit_sha``, ``short_sha``, ``commit_message``,
  ``author_name``, ``author_email``, ``commit_date_iso``;
- ``command='get'`` outputs the same and ``files``: a list of ``{"name", "content", "binary"}``,
  ``name`` relative to ``files_path`` (forward slashes). A file that is UTF-8 text without NUL
  bytes has its text as ``content`` (``binary`` false); any other file has its bytes in base64
  (``binary`` true: ``base64.b64decode(f['content'])``).

``ref`` is a branch, a tag or a commit sha (default: the remote's HEAD). Credentials:
``username``/``password`` for http(s) (put into the URL git is given; never shown), or
``ssh_key`` (a private key's text) for ssh, written to a 0600 file in a temp folder with a
known-hosts file of its own there (new host keys are accepted; nothing of the user's ~/.ssh is
read or written). The repository is fetched shallowly (one commit) into a temp folder that is
removed afterwards. Failures raise ConnectorError saying what to check, credentials masked."""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import stat
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import git
from flow_api import ConnectorError

from .. import redact
from . import register
from .spec import Param

_DEFAULT_TIMEOUT_S = 300
_SHA = re.compile(r"^[0-9a-fA-F]{4,40}$")
_BAD_REF = re.compile(r"couldn't find remote ref|not our ref|invalid refspec|unknown revision|"
                      r"Remote branch .* not found|bad object|ambiguous argument|no such ref|"
                      r"upload-pack: not our ref|fatal: remote error: .*not our ref", re.I)
_AUTH = re.compile(r"Authentication failed|could not read (Username|Password)|terminal prompts disabled|"
                   r"Permission denied|HTTP Basic: Access denied|returned error: 40[13]|401|403", re.I)
_UNREACHABLE = re.compile(r"Could not resolve host|Connection refused|unable to connect|timed out|"
                          r"does not appear to be a git repository|Could not read from remote repository|"
                          r"not found|No route to host|Network is unreachable|unable to access|"
                          r"Failed to connect|hung up|service not enabled|does not exist|no such file", re.I)


def git_connector(this, params: dict) -> dict:
    command = str(params.get("command") or "get").lower()
    if command not in ("get", "metadata"):
        raise ConnectorError(f"GIT connector: unknown command {command!r}; use command='get' (files and "
                             f"commit) or command='metadata' (the commit only)")
    url = str(params["repository_url"])
    secrets = redact.secrets_of(params, ("password", "ssh_key"))
    work = Path(tempfile.mkdtemp(prefix="flowdesk-git-"))
    try:
        session = _Session(work, _with_credentials(url, params), params, secrets)
        commit = session.fetch(params.get("ref"))
        outputs = _metadata(session.repo, commit)
        if command == "get":
            outputs["files"] = _files(commit, params.get("files_path"), url, params.get("ref"))
        return outputs
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the key file and the fetched objects with it


class _Session:
    """One empty repository in a temp folder that fetches from the remote."""

    def __init__(self, work: Path, url: str, params: dict, secrets: list[str]):
        self.url = url
        self.shown_url = redact.mask(url, secrets)
        self.secrets = secrets
        self.timeout = float(params.get("timeout") or _DEFAULT_TIMEOUT_S)
        self.repo = git.Repo.init(work / "repo")
        self.repo.git.update_environment(**_environment(work, params.get("ssh_key")))

    def fetch(self, ref: "str | None") -> git.Commit:
        wanted = str(ref) if ref else "HEAD"
        try:
            self._git("fetch", "--depth=1", "--no-tags", "--", self.url, wanted)
            found = "FETCH_HEAD"
        except git.GitCommandError as exc:
            if not (ref and _SHA.match(wanted) and _BAD_REF.search(_stderr(exc))):
                raise self._error(exc, ref) from None
            # A server may refuse a sha it does not advertise (or the sha is abbreviated): fetch
            # its branches and tags and look for it there.
            try:
                self._git("fetch", "--no-tags", "--", self.url, "+refs/heads/*:refs/remotes/origin/*",
                          "+refs/tags/*:refs/tags/*")
            except git.GitCommandError as again:
                raise self._error(again, ref) from None
            found = wanted
        try:
            return self.repo.commit(found)
        except (git.BadName, ValueError):
            raise ConnectorError(f"GIT connector: {self.shown_url} has no commit {wanted!r}; check ref= "
                                 f"(a branch, a tag or a commit sha)") from None

    def _git(self, *args: str) -> str:
        return self.repo.git.execute(["git", *args], kill_after_timeout=self.timeout, with_extended_output=False)

    def _error(self, exc: git.GitCommandError, ref: "str | None") -> ConnectorError:
        said = redact.mask(_stderr(exc), self.secrets) or f"git exited with status {exc.status}"
        where = self.shown_url
        if "Timeout:" in str(exc) or "did not complete" in str(exc):
            text = (f"fetching {where} did not end within timeout={self.timeout:g} s and was stopped; check the "
                    f"URL and the network, or raise timeout=")
        elif _BAD_REF.search(said):
            text = f"{where} has no branch, tag or commit {ref!r}; check ref=. Git said: {said}"
        elif _AUTH.search(said):
            text = (f"{where} refused the credentials (or needs some); check username=/password= (https) or "
                    f"ssh_key= (ssh). Git said: {said}")
        elif _UNREACHABLE.search(said):
            text = (f"cannot reach {where}; check repository_url=, the network, and that the repository "
                    f"exists. Git said: {said}")
        else:
            text = f"fetching {where} failed. Git said: {said}"
        return ConnectorError("GIT connector: " + text)


def _with_credentials(url: str, params: dict) -> str:
    username, password = params.get("username"), params.get("password")
    if not (username or password):
        return url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        if password:
            raise ConnectorError(f"GIT connector: password= works with http(s) URLs; for "
                                 f"{redact.mask_urls(url)} give ssh_key= (or an https URL)")
        if parts.scheme.lower() in ("ssh", "git+ssh") and username:  # the user part of an ssh URL
            host = parts.netloc.rsplit("@", 1)[-1]
            return urlunsplit(parts._replace(netloc=f"{quote(str(username), safe='')}@{host}"))
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = quote(str(username or "git"), safe="") + (f":{quote(str(password), safe='')}" if password else "")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def _environment(work: Path, ssh_key: "str | None") -> dict[str, str]:
    # No prompt may wait for a terminal the engine does not have; messages in English.
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "", "LC_ALL": "C", "LANGUAGE": "C"}
    known_hosts = work / "known_hosts"
    ssh = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "StrictHostKeyChecking=accept-new",
           "-o", f"UserKnownHostsFile={known_hosts}"]
    if ssh_key:
        key_file = work / "id_key"
        text = str(ssh_key).replace("\r\n", "\n")
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")  # ssh refuses a key without one
        ssh += ["-i", str(key_file), "-o", "IdentitiesOnly=yes"]
    env["GIT_SSH_COMMAND"] = shlex.join(ssh)
    return env


def _stderr(exc: git.GitCommandError) -> str:
    text = exc.stderr if isinstance(exc.stderr, str) else (exc.stderr or b"").decode("utf-8", "replace")
    text = re.sub(r"^\s*stderr: '?", "", text).rstrip("'").strip()
    return " ".join(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("hint:"))


def _metadata(repo: git.Repo, commit: git.Commit) -> dict:
    return {
        "commit_sha": commit.hexsha,
        "short_sha": repo.git.rev_parse("--short", commit.hexsha),
        "commit_message": commit.message.rstrip("\n"),
        "author_name": commit.author.name,
        "author_email": commit.author.email,
        "commit_date_iso": commit.committed_datetime.isoformat(),
    }


def _files(commit: git.Commit, files_path: "str | None", url: str, ref: "str | None") -> list[dict]:
    tree: "git.Tree | git.Blob" = commit.tree
    if files_path and str(files_path).strip("/"):
        path = str(files_path).strip("/")
        try:
            tree = commit.tree / path
        except KeyError:
            at = f" at {ref!r}" if ref else ""
            raise ConnectorError(f"GIT connector: files_path {path!r} does not exist in "
                                 f"{redact.mask_urls(url)}{at}; give a folder (or file) of the repository, "
                                 f"relative to its root") from None
    if isinstance(tree, git.Blob):
        return [_file(tree.name, tree)]
    base = tree.path
    found = []
    for item in tree.traverse():
        if isinstance(item, git.Blob):
            name = item.path[len(base) + 1:] if base else item.path
            found.append(_file(name, item))
    return sorted(found, key=lambda f: f["name"])


def _file(name: str, blob: git.Blob) -> dict:
    data = blob.data_stream.read()
    if b"\0" not in data:
        try:
            return {"name": name, "content": data.decode("utf-8"), "binary": False}
        except UnicodeDecodeError:
            pass
    return {"name": name, "content": base64.b64encode(data).decode("ascii"), "binary": True}


git_connector.repeatable = lambda params: True  # it only reads a commit: see ConnectorSpec.repeatable
register("GIT", git_connector, params=[
    Param("command", doc="'get': the files and the commit; 'metadata': the commit only (default 'get')"),
    Param("repository_url", required=True, doc="https://, http://, ssh://, git://, file:// URL (or a local path)"),
    Param("ref", doc="a branch, tag or commit sha (default: the remote's HEAD)"),
    Param("username", doc="user name for an https URL (or the ssh user)"),
    Param("password", secret=True, doc="password or access token for an https URL"),
    Param("ssh_key", secret=True, doc="a private key's text, for an ssh URL"),
    Param("files_path", doc="a folder (or file) of the repository to read; default: all of it"),
    Param("timeout", doc=f"seconds the fetch may take (default {_DEFAULT_TIMEOUT_S})"),
], doc="Read a commit of a Git repository: command='get' gives files and metadata, 'metadata' the commit's "
       "sha, message, author and date.")
