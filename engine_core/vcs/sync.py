"""Workspace-level Git operations: the repository steps plus the settings files around them
(export before a commit or pull, import after a pull, merge or branch switch). The CLI and
the IDE both call these, so the two behave the same."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import conflicts
from .repository import GitRepository, PullResult
from .settings_files import SettingsStore, SyncReport, sync


@dataclass
class WorkspaceRepo:
    repository: GitRepository
    state_dir: Path  # the workspace's .flowdesk/ (never committed)
    store: SettingsStore | None = None  # None: settings are left alone (e.g. no database yet)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, workspace, store: SettingsStore | None = None) -> "WorkspaceRepo":
        return cls(GitRepository.open(workspace.root), workspace.state_dir, store)

    @property
    def root(self) -> Path:
        return self.repository.root

    def export_settings(self) -> SyncReport:
        return self._sync("database")

    def import_settings(self) -> SyncReport:
        return self._sync("files")

    def _sync(self, prefer: str) -> SyncReport:
        if self.store is None:
            return SyncReport()
        report = sync(self.root, self.state_dir, self.store, prefer)
        self.warnings.extend(report.warnings)
        return report

    def commit_all(self, message: str) -> str:
        """Export settings, stage every change to flows and settings, commit."""
        self.export_settings()
        self.repository.stage_workspace()
        return self.repository.commit(message)

    def commit_staged(self, message: str) -> str:
        return self.repository.commit(message)

    def pull(self) -> PullResult:
        # Settings changed in the database must be on disk first: git then protects them
        # like any uncommitted edit, and the import afterwards sees what came in.
        self.export_settings()
        result = self.repository.pull()
        if result.outcome in ("fast-forward", "merged"):
            self.import_settings()
        return result

    def push(self) -> str:
        return self.repository.push()

    def finish_merge(self) -> str:
        sha = conflicts.finish(self.repository)
        self.import_settings()
        return sha

    def abort_merge(self) -> None:
        conflicts.abort(self.repository)

    def switch(self, branch: str, create: bool = False) -> None:
        self.export_settings()
        self.repository.switch(branch, create)
        self.import_settings()
