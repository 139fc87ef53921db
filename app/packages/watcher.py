"""Noticing that ``requirements.txt`` changed, however it was written: saved from an editor, by
another program, or replaced by ``git pull``.

QFileSystemWatcher watches a file by its inode: an editor or Git that writes a new file and
renames it over the old one ends that watch. So the workspace folder is watched too (its entries
change on such a rename, and when the file is created or deleted) and the file's watch is renewed
after each event. Events come in bursts (truncate, write, close); a short timer folds a burst
into one ``changed``. Whether the contents really changed is for the reader to decide."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

SETTLE_MS = 300


class RequirementsWatcher(QObject):
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path: Path | None = None
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._poke)
        self._watcher.fileChanged.connect(self._poke)
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self._settled)

    def watch(self, requirements: Path | None) -> None:
        """Watch this file (and its folder) instead of the previous one; None watches nothing."""
        paths = self._watcher.files() + self._watcher.directories()
        if paths:
            self._watcher.removePaths(paths)
        self._settle.stop()
        self._path = requirements
        if requirements is not None:
            self._watcher.addPath(str(requirements.parent))
            self._renew()

    def _poke(self, _path: str = "") -> None:
        self._settle.start()

    def _settled(self) -> None:
        self._renew()
        self.changed.emit()

    def _renew(self) -> None:
        # addPath fails quietly for a missing file; the folder's watch brings it back when it appears.
        if self._path is not None and str(self._path) not in self._watcher.files() and self._path.exists():
            self._watcher.addPath(str(self._path))
