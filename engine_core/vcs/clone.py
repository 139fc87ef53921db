"""``git clone`` with progress reported through GitPython's RemoteProgress and a cancel
that really stops git (the process is killed and the half-made folder removed)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import git
from git.remote import to_progress_instance
from git.util import finalize_process
from git.cmd import handle_process_output

from .gitcmd import GitError, configured, translate


def run_clone(url: str, dest: Path, progress: git.RemoteProgress | None,
              cancel: threading.Event | None) -> git.Repo:
    url = _normalise(url)
    if dest.exists() and any(dest.iterdir()):
        raise GitError(f"cannot clone into {dest}: the folder is not empty; choose a new or empty folder")
    created = not dest.exists()
    cancel = cancel or threading.Event()
    handler = to_progress_instance(progress)
    done = threading.Event()
    command = configured(git.Git())
    proc = command.execute(["git", "clone", "--progress", "-v", "--", url, str(dest)], as_process=True,
                           universal_newlines=True)
    threading.Thread(target=_kill_on_cancel, args=(proc, cancel, done), daemon=True).start()
    try:
        handle_process_output(proc, None, handler.new_message_handler(), finalize_process, decode_streams=False)
    except git.GitCommandError as exc:
        _cleanup(dest, created)
        if cancel.is_set():
            raise GitError("clone cancelled; nothing was kept") from None
        # The progress handler consumed stderr: give the error its lines back for the message.
        exc.stderr = "\n".join(handler.error_lines + handler.other_lines) or exc.stderr
        raise translate(exc, "clone", url) from None
    finally:
        done.set()
    if cancel.is_set():  # killed just as it finished: honour the cancel all the same
        _cleanup(dest, created)
        raise GitError("clone cancelled; nothing was kept")
    return git.Repo(dest)


def _normalise(url: str) -> str:
    # A plain folder path is a fine remote; make it absolute so the clone's origin stays valid.
    if "://" not in url and not _looks_like_scp(url) and Path(url).expanduser().exists():
        return str(Path(url).expanduser().resolve())
    return url


def _looks_like_scp(url: str) -> bool:
    head = url.split("/", 1)[0]
    return ":" in head and not Path(url).exists()


def _kill_on_cancel(proc, cancel: threading.Event, done: threading.Event) -> None:
    while not done.is_set():
        if cancel.wait(0.05):
            try:
                proc.proc.kill()
            except (OSError, AttributeError):
                pass
            return


def _cleanup(dest: Path, created: bool) -> None:
    if created:
        shutil.rmtree(dest, ignore_errors=True)
    elif dest.exists():  # it was an empty folder the user chose: empty it again
        for child in dest.iterdir():
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
