"""What the Git panel's buttons do, for one main window: status refresh, stage, commit,
fetch, pull (safe: buffers saved or the user asked first; conflicts to the conflict dialog;
open tabs reloaded), push, branches, history. Git runs off the GUI thread; failures come
back as messages shown with window.show_error, never a traceback."""

from __future__ import annotations

from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QInputDialog, QMessageBox

from engine_core.errors import FlowdeskError
from engine_core.vcs import GitRepository, PullResult, WorkspaceRepo
from engine_core.vcs.gitcmd import is_repository

from ..tasks import run_in_background
from .diff_tabs import DiffTabs
from .panel import GitPanel
from .reload import reload_open_flows


class GitController(QObject):
    def __init__(self, window, panel: GitPanel):
        super().__init__(panel)
        self.window, self.panel = window, panel
        self.busy = False
        self._generation = 0  # a refresh started before a newer one is dropped on arrival
        self.last_pull: PullResult | None = None
        self.conflict_dialog = None
        self.diffs = DiffTabs(window)  # a changed file's diff opens as a tab of the editor area
        # Hooks a test (or a script) may replace; the defaults ask with a message box.
        self.ask_save_before_pull: Callable[[list[str]], str] = self._ask_save_before
        self.ask_reload: Callable[[str], bool] = self._ask_reload
        self._refresh_timer = QTimer(self, singleShot=True, interval=250)
        self._refresh_timer.timeout.connect(self.refresh)
        self._connect_panel()

    def _connect_panel(self) -> None:
        p = self.panel
        p.refreshRequested.connect(self.refresh)
        p.fetchRequested.connect(self.fetch)
        p.pullRequested.connect(self.pull)
        p.pushRequested.connect(self.push)
        p.commitRequested.connect(self.commit)
        p.stageRequested.connect(self.stage)
        p.unstageRequested.connect(self.unstage)
        p.fileSelected.connect(self.show_diff)
        p.fileActivated.connect(lambda path: self.show_diff(path, focus=True))
        p.historyRequested.connect(self.show_history)
        p.switchRequested.connect(self.switch)
        p.newBranchRequested.connect(self.new_branch)
        p.initRequested.connect(self.init_repository)

    # -- where --------------------------------------------------------------------------------
    def _store(self):
        engine = getattr(self.window.bridge, "engine", None)
        return engine.store if engine is not None else None

    def workspace_repo(self) -> WorkspaceRepo | None:
        workspace = self.window.workspace
        if workspace is None or not is_repository(workspace.root):
            return None
        try:
            return WorkspaceRepo.open(workspace, self._store())
        except FlowdeskError:  # e.g. .git half made by an init still running: not one yet
            return None

    # -- running ------------------------------------------------------------------------------
    def _run(self, label: str, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
             network: bool = False) -> bool:
        """Run ``fn(*args)`` off the GUI thread; one network operation at a time."""
        if network and self.busy:
            self.panel.show_message("Another Git operation is still running; wait for it to finish.")
            return False
        if network:
            self.busy = True
            self.panel.set_busy(True)
        self.panel.show_message(f"{label}…")

        def finished(_value=None) -> None:
            if network:
                self.busy = False
                self.panel.set_busy(False)

        def done(value: Any) -> None:
            finished()
            self.panel.show_message("")
            if on_done is not None:
                on_done(value)

        def failed(message: str) -> None:
            finished()
            self.panel.show_message(message)
            self.window.show_error(message)
            self.refresh()

        run_in_background(fn, *args, on_done=self._guard(done), on_error=self._guard(failed))
        return True

    def _guard(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        """Results arrive later; by then the window (and this panel) may be gone."""
        def deliver(value: Any) -> None:
            if shiboken6.isValid(self.panel):
                callback(value)
        return deliver

    # -- status and diff ----------------------------------------------------------------------
    def schedule_refresh(self, *_args) -> None:
        self._refresh_timer.start()

    def refresh(self) -> None:
        if self.busy:  # no settings export while a pull or switch is changing files; later
            self.schedule_refresh()
            return
        repo = self.workspace_repo()
        if repo is None:
            self.panel.set_repository(False)
            return
        self._generation += 1
        generation = self._generation
        run_in_background(_snapshot, repo, on_done=self._guard(lambda result: self._show(generation, result)),
                          on_error=self._guard(self.panel.show_message))

    def _show(self, generation: int, result) -> None:
        if generation != self._generation:
            return
        snapshot, branches, remotes, warnings = result
        self.panel.set_snapshot(snapshot)
        self.panel.set_branches(snapshot.branch, branches, remotes)
        if warnings:
            self.panel.show_message("\n".join(warnings))
        self.diffs.refresh(snapshot)  # open diffs follow commits, reverts and saves

    def show_diff(self, path: str, focus: bool = False):
        """Open (or raise and refresh) the diff tab of changed file ``path``; returns its page."""
        entry = self.panel.model.file_at(self.panel.model.row_of(path))
        return self.diffs.open(path, entry.original if entry is not None else None, focus)

    # -- local operations ---------------------------------------------------------------------
    def stage(self, paths: list[str]) -> None:
        repo = self.workspace_repo()
        if repo and paths:
            self._run("Staging", repo.repository.stage, paths, on_done=lambda _: self.refresh())

    def unstage(self, paths: list[str]) -> None:
        repo = self.workspace_repo()
        if repo and paths:
            self._run("Unstaging", repo.repository.unstage, paths, on_done=lambda _: self.refresh())

    def commit(self, message: str) -> None:
        repo = self.workspace_repo()
        if repo is None:
            return
        self.window.tabs.save_all()  # what is committed is what the user sees

        def done(sha: str) -> None:
            self.panel.commit_message.clear()
            self.panel.show_message(f"Committed {sha[:8]}")
            self.refresh()
        self._run("Committing", _commit, repo, message, on_done=done, network=True)

    def init_repository(self) -> None:
        workspace = self.window.workspace
        if workspace is None:
            self.window.show_error("open a workspace first")
            return
        self._run("Making a repository", GitRepository.init, workspace.root, on_done=lambda _: self.refresh())

    # -- remote operations ---------------------------------------------------------------------
    def fetch(self) -> None:
        repo = self.workspace_repo()
        if repo:
            self._run("Fetching", repo.repository.fetch, on_done=lambda _: self.refresh(), network=True)

    def push(self) -> None:
        repo = self.workspace_repo()
        if repo:
            self._run("Pushing", repo.push, on_done=lambda text: (self.refresh(), self.panel.show_message(text)),
                      network=True)

    def pull(self) -> bool:
        """Pull unless the user cancels at the unsaved-buffers question. Returns whether it started."""
        repo = self.workspace_repo()
        if repo is None or not self._settle_buffers("pulling"):
            return False
        return self._run("Pulling", _pull, repo, on_done=self._pulled, network=True)

    def _settle_buffers(self, doing: str) -> bool:
        dirty = [e for e in self.window.tabs.editors() if e.is_dirty()]
        if not dirty:
            return True
        answer = self.ask_save_before_pull([self.window.tabs.title_of(e) for e in dirty])
        if answer == "cancel":
            self.panel.show_message(f"Cancelled {doing}: nothing changed.")
            return False
        if answer == "save":
            for editor in dirty:
                self.window.tabs.save(editor)
        return True  # "keep": buffers stay unsaved; a pull that changes one asks before reloading

    def _pulled(self, outcome: tuple[PullResult, list[str]]) -> None:
        result, warnings = outcome
        self.last_pull = result
        self.panel.show_message("\n".join([result.message, *warnings]))
        if result.outcome == "conflicts":
            self.open_conflicts()
        else:
            self.after_files_changed(result.changed)
        self.refresh()

    def after_files_changed(self, paths: list[str] | None) -> None:
        """Reload open tabs from disk (asking where a buffer has unsaved edits) and the
        explorer's settings, after a pull, merge, switch or restore changed files."""
        reload_open_flows(self.window.tabs, paths, self.ask_reload)
        if getattr(self.window.bridge, "is_open", False):
            self.window.bridge.read(lambda store: store.settings(), on_done=self.window.explorer.set_settings)

    def open_conflicts(self) -> None:
        from .conflict_dialog import ConflictDialog

        repo = self.workspace_repo()
        if repo is None:
            return
        self.conflict_dialog = ConflictDialog(repo, self.window)
        self.conflict_dialog.finished_merge.connect(lambda changed: (self.after_files_changed(changed), self.refresh()))
        self.conflict_dialog.aborted.connect(lambda: (self.after_files_changed(None), self.refresh()))
        self.conflict_dialog.failed.connect(self.window.show_error)
        self.conflict_dialog.open()

    # -- branches and history -----------------------------------------------------------------
    def switch(self, branch: str, create: bool = False) -> None:
        repo = self.workspace_repo()
        if repo is None or not self._settle_buffers("switching branch"):
            return
        self._run(f"Switching to {branch}", repo.switch, branch, create,
                  on_done=lambda _: (self.after_files_changed(None), self.refresh()), network=True)

    def new_branch(self) -> None:
        name, ok = QInputDialog.getText(self.window, "New Branch", "Name of the new branch (from here):")
        if ok and name.strip():
            self.switch(name.strip(), create=True)

    def show_history(self, path: str) -> None:
        from .history_dialog import HistoryDialog

        repo = self.workspace_repo()
        if repo is None:
            return
        if not path:
            current = self.window.tabs.current_flow()
            if current is None:
                self.window.show_error("select a changed file or open a flow to see its history")
                return
            path = f"flows/{current}.py"
        self.history_dialog = HistoryDialog(repo.repository, path, self.window)
        self.history_dialog.restored.connect(lambda p: (self.after_files_changed([p]), self.refresh()))
        self.history_dialog.open()

    # -- questions ----------------------------------------------------------------------------
    def _ask_save_before(self, names: list[str]) -> str:
        listing = "\n".join(f"  • {n}" for n in names)
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved changes",
                          f"These tabs have unsaved changes:\n{listing}\n\nSave them before pulling? Saved "
                          f"changes that the pull would overwrite stop the pull, and nothing changes.",
                          parent=self.window)
        save = box.addButton("Save and Pull", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Pull Without Saving", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return "save" if box.clickedButton() is save else "keep" if box.clickedButton() is keep else "cancel"

    def _ask_reload(self, name: str) -> bool:
        answer = QMessageBox.question(
            self.window, "Changed on disk",
            f"The pull changed {name!r}, which has unsaved edits here.\n\nReload it (your unsaved edits are "
            f"dropped) or keep your edits (saving them later overwrites the pulled version)?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes


def _snapshot(repo: WorkspaceRepo):
    """Off the GUI thread: settings exported (so their changes show), then one status call."""
    repo.export_settings()
    git_repo = repo.repository
    return git_repo.status(), git_repo.branches(), git_repo.remote_branches(), repo.warnings


def _commit(repo: WorkspaceRepo, message: str) -> str:
    # Nothing staged: commit everything, as 'flowdesk git commit' does.
    if any(f.staged for f in repo.repository.status().files):
        return repo.commit_staged(message)
    return repo.commit_all(message)


def _pull(repo: WorkspaceRepo) -> tuple[PullResult, list[str]]:
    return repo.pull(), repo.warnings

