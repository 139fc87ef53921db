"""A workspace's third-party packages: ``requirements.txt`` at its root, installed by pip into
``.flowdesk/packages/sets/<id>/`` and put on every worker's path.

This module is imported by every ``flowdesk run`` and by the worker pool, so it stays light:
``site_dir`` and ``needs_install`` cost a stat or two (and a small file read when there is a
``requirements.txt``); the parser (``packaging``), the installer and pip are imported only when
something has to be parsed or installed.

Layout under ``<ws>/.flowdesk/packages/``: ``sets/<id>/`` one complete ``pip install --target``
result per install; ``current.json`` (written atomically, only after a set installed
completely) names the set in use; ``install.lock`` (flock while installing); ``install.log``
(the last install's pip output)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import FlowdeskError

if TYPE_CHECKING:  # pragma: no cover
    from .installer import InstallResult
    from .requirements import Requirements
    from .state import PackagesStatus

REQUIREMENTS = "requirements.txt"
PACKAGES_DIR = Path(".flowdesk") / "packages"


class PackagesError(FlowdeskError):
    """Installing or reading the workspace's packages failed; the message names the package
    and pip's reason, and says what to do."""


def requirements_path(root: Path) -> Path:
    return Path(root) / REQUIREMENTS


def packages_dir(root: Path) -> Path:
    return Path(root) / PACKAGES_DIR


def current_path(root: Path) -> Path:
    return packages_dir(root) / "current.json"


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def requirements_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# root -> ((st_ino, st_mtime_ns, st_size) of current.json, what it says). A worker is taken
# from the pool many times a second; re-reading the JSON each time would be waste, and a new
# install replaces the file (a new inode and mtime), which the key notices.
_current_cache: dict[str, tuple[tuple[int, int, int], dict | None]] = {}


def read_current(root: Path) -> dict | None:
    """``current.json`` of the workspace (cached on its inode/mtime_ns), or None."""
    path = current_path(root)
    try:
        st = os.stat(path)
    except OSError:
        _current_cache.pop(str(root), None)
        return None
    key = (st.st_ino, st.st_mtime_ns, st.st_size)
    cached = _current_cache.get(str(root))
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(current, dict):
            current = None
    except (OSError, ValueError):
        current = None  # a hand-edited or truncated file: as if nothing were installed
    _current_cache[str(root)] = (key, current)
    return current


# root -> (path of current.json as a string, its stat key, the set dir). The pool asks twice
# per execution (taking a worker, giving it back); pathlib joins and the JSON read cost ~50 µs,
# which was measurable on a 1 ms child round trip, so the hot path is one os.stat of a string.
_site_cache: dict[object, tuple[str, tuple | None, Path | None]] = {}


def site_dir(root: Path) -> Path | None:
    """The package set in use by the workspace's workers, or None when there is none."""
    cached = _site_cache.get(root)
    path = cached[0] if cached is not None else os.path.join(root, PACKAGES_DIR, "current.json")
    try:
        st = os.stat(path)
        key: tuple | None = (st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    if cached is not None and cached[1] == key:
        return cached[2]
    current = read_current(root) if key is not None else None
    found = None
    if current and current.get("set"):
        found = packages_dir(root) / "sets" / str(current["set"])
    _site_cache[root] = (path, key, found)
    return found


def needs_install(root: Path) -> bool:
    """``requirements.txt`` differs from what is installed (or was removed while a set is
    still in use: installing then switches the workers to no set)."""
    try:
        text = requirements_path(root).read_text(encoding="utf-8")
    except FileNotFoundError:
        current = read_current(root)
        return bool(current and current.get("set"))
    except OSError:
        return True  # unreadable: install() reports why
    current = read_current(root)
    return not (current and current.get("requirements_sha256") == requirements_sha256(text)
                and current.get("python") == python_version())


def pip_command() -> list[str]:
    """How to run pip: this interpreter's ``-m pip`` (in the frozen app ``sys.executable`` is
    the bundle's program, which runs ``-m pip`` with the pip it bundles)."""
    return [sys.executable, "-m", "pip"]


def read_requirements(root: Path) -> "Requirements":
    from .requirements import read_requirements as read

    return read(root)


def add_requirement(root: Path, requirement: str) -> None:
    from .requirements import add_requirement as add

    add(root, requirement)


def status(root: Path) -> "PackagesStatus":
    from .state import status as compute

    return compute(root)


def install(root: Path, *, on_line: Callable[[str], None] | None = None) -> "InstallResult":
    from .installer import install as run_install

    return run_install(root, on_line=on_line)


_LAZY = {
    "Requirements": "requirements", "Entry": "requirements",
    "PackagesStatus": "state", "PackageRow": "state",
    "InstallResult": "installer",
    "distribution_for_import": "import_names", "importable": "import_names",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
