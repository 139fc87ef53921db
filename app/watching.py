"""Keeping a QFileSystemWatcher on the folders a view shows (it is not recursive, and a folder
may appear later: its parent is watched until then)."""

from __future__ import annotations

from PySide6.QtCore import QFileSystemWatcher


def watch_exactly(watcher: QFileSystemWatcher, folders: list[str]) -> bool:
    """Watch these folders and no others; True when one was added (a file written between the
    listing and the watch would go unseen: the caller lists once more)."""
    watched = set(watcher.directories())
    stale = watched - set(folders)
    if stale:
        watcher.removePaths(list(stale))
    fresh = [f for f in folders if f not in watched]
    if fresh:
        watcher.addPaths(fresh)
    return bool(fresh)
