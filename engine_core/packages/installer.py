"""``install()``: pip installs the workspace's requirements into a new set folder; only when
pip succeeded does ``current.json`` (replaced atomically) point the workers at it.

pip runs as a subprocess (``python -m pip``) so that its imports, its output and a crash stay
out of the IDE's and engine's process, and so that killing it can never leave the running
Flowdesk half-changed. It is run with this machine's and user's pip configuration as it is:
``--isolated`` would also drop the user's index settings (a company mirror, certificates,
proxies), which requirements.txt rightly does not repeat. Only the settings that contradict
``--target`` are neutralised in pip's environment (see ``_pip_env``). Constraint files from the
configuration (``PIP_CONSTRAINT``, ``constraint =`` in pip.conf) still apply: pip appends the
``-c`` given here to them (checked with pip 26), so a machine-wide cap keeps working."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import (PackagesError, packages_dir, pip_command, python_version, read_current,
               requirements_path, requirements_sha256)
from .environment import direct_conflicts, flowdesk_distributions, satisfied_by_flowdesk, constraints_text
from .pip_errors import explain
from .requirements import Requirements, parse


@dataclass
class InstallResult:
    installed: dict[str, str]   # distribution name -> version, in the new set
    set_dir: Path | None        # None when nothing needed installing (all of it is Flowdesk's)
    seconds: float
    log: str


def install(root: Path, *, on_line: Callable[[str], None] | None = None) -> InstallResult:
    """Install ``requirements.txt`` into a new set and switch the workspace to it. Raises
    PackagesError (naming the package and pip's reason) on failure; the previous set stays in
    use. Another install of the same workspace (the IDE and the CLI) waits for the first."""
    root = Path(root).resolve()
    started = time.monotonic()
    say = on_line or (lambda line: None)
    base = packages_dir(root)
    (base / "sets").mkdir(parents=True, exist_ok=True)
    with _locked(base / "install.lock", say):
        try:
            text = requirements_path(root).read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        except (OSError, UnicodeDecodeError) as exc:
            raise PackagesError(f"cannot read {requirements_path(root)}: {exc}") from None
        sha = requirements_sha256(text)
        current = read_current(root) or {}
        previous_set = current.get("set")
        if (current.get("requirements_sha256") == sha and current.get("python") == python_version()
                and (not previous_set or (base / "sets" / previous_set).is_dir())):
            # Installed meanwhile (by the process whose install we waited for): nothing to do.
            say("requirements.txt is installed already")
            return InstallResult(dict(current.get("installed", {})),
                                 base / "sets" / previous_set if previous_set else None,
                                 time.monotonic() - started, "")
        requirements = parse(text)
        _refuse_bad(requirements, base)
        wanted = [e for e in requirements.entries if e.applies and satisfied_by_flowdesk(e) is None]
        if not wanted:
            say("nothing to install: every requirement is part of Flowdesk's own environment")
            _write_current(root, None, sha, {})
            _clean_sets(base, keep={previous_set})
            return InstallResult({}, None, time.monotonic() - started, "")
        set_id = f"{requirements_sha256(text + python_version())[:12]}-{time.time_ns() // 1_000_000:x}"
        set_dir = base / "sets" / set_id
        log = _run_pip(root, base, requirements, wanted, set_dir, say)
        installed = _installed_in(set_dir)
        _write_current(root, set_id, sha, installed)
        _clean_sets(base, keep={set_id, previous_set})
    seconds = time.monotonic() - started
    say(f"installed {', '.join(f'{n} {v}' for n, v in sorted(installed.items())) or 'nothing'} "
        f"in {seconds:.1f} s")
    return InstallResult(installed, set_dir, seconds, log)


def _refuse_bad(requirements: Requirements, base: Path) -> None:
    """Unparseable lines and direct conflicts with Flowdesk's versions are reported before
    pip runs: pip would only say "ResolutionImpossible" about them, much later."""
    problems = [f"requirements.txt line {line}: {message}; fix it and install again"
                for line, message in requirements.errors]
    problems += direct_conflicts(requirements.entries)
    if problems:
        message = "\n".join(problems)
        (base / "install.log").write_text(message + "\n", encoding="utf-8")
        raise PackagesError(message)


def _run_pip(root: Path, base: Path, requirements: Requirements, wanted, set_dir: Path, say) -> str:
    # pip gets a copy of requirements.txt without what Flowdesk's environment satisfies:
    # ``--target`` ignores what is installed, so pip would download Flowdesk's own packages
    # again. Relative paths in it are made absolute, since the copy lives elsewhere (pip reads
    # a relative --find-links / -r relative to the requirements file).
    lines = [_absolute_option(option, root) for option in requirements.options]
    lines += [_absolute_path(e.text, root) if e.name is None else e.text for e in wanted]
    request = base / "install-requirements.txt"
    request.write_text("\n".join(lines) + "\n", encoding="utf-8")
    constraints = base / "constraints.txt"
    constraints.write_text(constraints_text(), encoding="utf-8")
    command = [*pip_command(), "install", "--target", str(set_dir), "-r", str(request), "-c", str(constraints),
               "--no-input", "--disable-pip-version-check", "--progress-bar", "off",
               "--no-warn-script-location"]
    say(f"installing {', '.join(e.text for e in wanted)} with pip")
    output: list[str] = []
    with open(base / "install.log", "w", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        try:
            process = subprocess.Popen(command, cwd=root, env=_pip_env(), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       encoding="utf-8", errors="replace", bufsize=1)
        except OSError as exc:
            raise PackagesError(f"cannot start pip ({' '.join(pip_command())}): {exc}") from None
        try:
            for line in process.stdout:
                line = line.rstrip("\n")
                output.append(line)
                log.write(line + "\n")
                log.flush()
                say(line)
            code = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            shutil.rmtree(set_dir, ignore_errors=True)
            raise
    text = "\n".join(output)
    if code != 0:
        shutil.rmtree(set_dir, ignore_errors=True)
        line_map = {len(requirements.options) + i: e.text for i, e in enumerate(wanted, 1)}
        raise PackagesError(explain(text, requirements, code, base / "install.log", line_map))
    return text


def _pip_env() -> dict[str, str]:
    env = dict(os.environ)
    # Settings that contradict --target (pip refuses "--user and --target" together) or that
    # would send the install elsewhere; environment variables beat pip.conf, so these win
    # over a configuration file's values too.
    for name in ("PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "PIP_EDITABLE", "PIP_REQUIREMENT",
                 "PIP_UPGRADE_STRATEGY", "PIP_BREAK_SYSTEM_PACKAGES"):
        env.pop(name, None)
    env["PIP_USER"] = "0"
    env["PIP_REQUIRE_VIRTUALENV"] = "0"  # the frozen app has no virtualenv, nor needs one
    env["PYTHONUNBUFFERED"] = "1"        # progress lines as they come
    env.pop("PYTHONSTARTUP", None)
    return env


_PATH_OPTIONS = re.compile(r"^(-f|--find-links|-r|--requirement|-c|--constraint|-e|--editable)(\s+|=)(\S.*)$")


def _absolute_option(option: str, root: Path) -> str:
    match = _PATH_OPTIONS.match(option)
    if not match:
        return option
    flag, sep, value = match.groups()
    return f"{flag}{sep}{_absolute_path(value, root)}"


def _absolute_path(value: str, root: Path) -> str:
    if "://" in value or os.path.isabs(value):
        return value
    candidate = root / os.path.expanduser(value)
    return str(candidate) if candidate.exists() else value


def _installed_in(set_dir: Path) -> dict[str, str]:
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions(path=[str(set_dir)]):
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            found[name] = dist.version
    return found


def _write_current(root: Path, set_id: str | None, sha: str, installed: dict[str, str]) -> None:
    path = packages_dir(root) / "current.json"
    tmp = path.with_name(f"current.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"set": set_id, "requirements_sha256": sha, "python": python_version(),
                               "installed": installed, "installed_at": time.time()}, indent=2),
                   encoding="utf-8")
    os.replace(tmp, path)  # the workers switch only to a complete set


def _clean_sets(base: Path, keep: set) -> None:
    """Keep the new set and the previous one (busy workers may still import from it)."""
    for entry in (base / "sets").iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path, say):
    with open(path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt

            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    say("waiting for another install of this workspace to end")
                    time.sleep(0.5)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("waiting for another install of this workspace to end")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = ["InstallResult", "install", "flowdesk_distributions"]
