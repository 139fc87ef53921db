"""A workspace's packages on a cluster worker: one pseudo-workspace per requirements text.

Workers never see the workspace; the engine sends the text of its ``requirements.txt`` (and
its sha256) with every execution. Each distinct text gets a folder
``~/.cache/flowdesk/cluster-packages/py3.X/<sha>/`` whose ``requirements.txt`` is that text,
and the ordinary machinery installs it there unchanged: the same pip invocation, Flowdesk's
constraints, the ``install.lock`` flock (one install per machine and text; supervisors that
ask meanwhile wait for it), ``current.json`` written only after a complete install. Keyed by
the text, two workspaces with the same requirements share a set and a workspace's older
text keeps its set for executions still running with it.

Relative paths in the text (``-r other.txt``, a local wheel) point into a workspace the
worker does not have: pip fails and the error says so (pip_errors' explanation)."""

from __future__ import annotations

import os
from pathlib import Path

from . import PackagesError, install, needs_install, python_version, requirements_path, requirements_sha256
from . import site_dir as workspace_site_dir
from ..fileio import write_atomically

# sha -> set directory (None: nothing to put on the path). Asked once per execution: after the
# first, the answer is a dict lookup plus the stat that packages.site_dir does anyway.
_known: dict[str, Path] = {}


def cache_root() -> Path:
    """Where the sets live: ``$FLOWDESK_CLUSTER_PACKAGES``, else ``$XDG_CACHE_HOME`` (or
    ``~/.cache``) ``/flowdesk/cluster-packages``."""
    explicit = os.environ.get("FLOWDESK_CLUSTER_PACKAGES")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "flowdesk" / "cluster-packages"


def root_for(sha: str) -> Path:
    return cache_root() / f"py{python_version()}" / sha


def site_dir(packages: tuple[str, str] | None) -> Path | None:
    """The set directory for this requirements text, installing it first if needed (may take
    minutes: pip). None when there are no requirements or Flowdesk's environment satisfies
    them all. Raises PackagesError with pip's reason."""
    if packages is None:
        return None
    _, text = packages
    # The folder is named by the text's own hash, not the one sent: a wrong sha must not make
    # two texts share one set.
    sha = requirements_sha256(text)
    root = root_for(sha)
    if sha in _known:
        found = workspace_site_dir(root)
        if found == _known[sha] and (found is None or found.is_dir()):
            return found
    try:
        _write_requirements(root, text)  # makes the folder
    except OSError as exc:
        raise PackagesError(f"cannot prepare {root} for the workspace's packages: {exc}") from None
    if needs_install(root):
        install(root)
    found = workspace_site_dir(root)
    _known[sha] = found
    return found


def _write_requirements(root: Path, text: str) -> None:
    path = requirements_path(root)
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    write_atomically(path, text)  # another supervisor (thread or worker) may be reading it now


__all__ = ["PackagesError", "cache_root", "root_for", "site_dir"]
