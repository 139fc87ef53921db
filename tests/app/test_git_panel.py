"""The Git panel in the real main window (pytest-qt, offscreen): a pull with unsaved edits
open, conflicts resolved and aborted in the dialog, commit with Ctrl+Enter, diff tab, history
restore, clone with progress, and failures shown as messages. Files are asserted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "vcs"))  # the Git test helpers

from git_helpers import copy_examples, git, isolate_git, make_bare, seed_remote  # noqa: E402

from engine_core import Workspace  # noqa: E402
from engine_core.vcs import GitRepository, WorkspaceRepo  # noqa: E402

CALC = "flows/Calculator.py"


@pytest.fixture
def remote(tmp_path, monkeypatch):
    isolate_git(monkeypatch, tmp_path / "home")
    bare = make_bare(tmp_path / "remote.git")
    seed_remote(copy_examples(tmp_path / "seed"), bare.as_uri())
    return bare.as_uri()


@pytest.fixture
def clone(tmp_path, remote):
    def make(name: str) -> Workspace:
        GitRepository.clone(remote, tmp_path / name)
        return Workspace.open(tmp_path / name)
    return make


@pytest.fixture
def git_window(make_window):
    def make(workspace: Workspace):
        from app.git import install

        window = make_window(workspace.root)
        controller = getattr(window, "git", None) or install(window)
        controller.ask_reload = lambda name: pytest.fail(f"unexpected reload question for {name}")
        return window, controller
    return make


def _alice_pushes(alice: Workspace, path: str, text: str) -> None:
    (alice.root / path).write_text(text)
    repo = WorkspaceRepo.open(alice)
    repo.commit_all(f"alice edits {path}")
    repo.push()


def _type(qtbot, editor, text: str) -> None:
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, text)


def _pull(qtbot, controller) -> None:
    controller.last_pull = None
    assert controller.pull()
    qtbot.waitUntil(lambda: controller.last_pull is not None and not controller.busy, timeout=15000)


def test_pull_with_unsaved_edits_saves_them_first_and_reloads_changed_tabs(qtbot, clone, git_window):
    alice, bob = clone("alice"), clone("bob")
    _alice_pushes(alice, "flows/Messenger.py", "# alice's messenger\n")
    window, controller = git_window(bob)
    calculator = window.tabs.open_flow("Calculator")
    messenger = window.tabs.open_flow("Messenger")
    _type(qtbot, calculator, "# bob was here")
    asked = []
    controller.ask_save_before_pull = lambda names: asked.append(names) or "save"

    _pull(qtbot, controller)

    assert asked == [["Calculator"]]
    assert (bob.root / CALC).read_text().endswith("# bob was here")  # saved, not lost
    assert calculator.text().endswith("# bob was here") and not calculator.is_dirty()
    assert messenger.text() == "# alice's messenger\n" and not messenger.is_dirty()
    assert (bob.root / "flows/Messenger.py").read_text() == "# alice's messenger\n"


@pytest.mark.parametrize("reload", [False, True])
def test_pull_changing_a_flow_with_unsaved_edits_asks_before_reloading(qtbot, clone, git_window, reload):
    alice, bob = clone("alice"), clone("bob")
    _alice_pushes(alice, CALC, "# alice's calculator\n")
    window, controller = git_window(bob)
    editor = window.tabs.open_flow("Calculator")
    _type(qtbot, editor, "# bob's unsaved line")
    mine = editor.text()
    controller.ask_save_before_pull = lambda names: "keep"
    questions = []
    controller.ask_reload = lambda name: questions.append(name) or reload

    _pull(qtbot, controller)

    assert questions == ["Calculator"]
    assert (bob.root / CALC).read_text() == "# alice's calculator\n"
    if reload:
        assert editor.text() == "# alice's calculator\n" and not editor.is_dirty()
    else:
        assert editor.text() == mine and editor.is_dirty()  # the user's edits are still there


def _alice_pushes_file(alice: Workspace, name: str, text: str) -> None:
    # Staged by hand: 'commit everything' (SYNCED_PATHS) does not include files/ yet.
    (alice.root / "files").mkdir(exist_ok=True)
    (alice.root / "files" / name).write_text(text)
    git(alice.root, "add", "files")
    git(alice.root, "commit", "-m", f"alice edits files/{name}")
    WorkspaceRepo.open(alice).push()


def test_pull_reloads_an_open_workspace_file_tab(qtbot, clone, git_window):
    alice = clone("alice")
    _alice_pushes_file(alice, "notes.txt", "first\n")
    bob = clone("bob")
    _alice_pushes_file(alice, "notes.txt", "alice's second\n")
    window, controller = git_window(bob)
    window.files.open_file("notes.txt")
    qtbot.waitUntil(lambda: window.tabs.file_editor("notes.txt") is not None, timeout=5000)
    editor = window.tabs.file_editor("notes.txt")
    assert editor.text() == "first\n"

    _pull(qtbot, controller)

    assert (bob.root / "files/notes.txt").read_text() == "alice's second\n"
    assert editor.text() == "alice's second\n" and not editor.is_dirty()
    assert window.tabs.tabText(window.tabs.indexOf(editor)) == "files/notes.txt"


def test_cancel_at_the_unsaved_question_pulls_nothing(qtbot, clone, git_window):
    alice, bob = clone("alice"), clone("bob")
    _alice_pushes(alice, CALC, "# alice\n")
    window, controller = git_window(bob)
    editor = window.tabs.open_flow("Messenger")
    _type(qtbot, editor, "# unsaved")
    head = git(bob.root, "rev-parse", "HEAD")
    controller.ask_save_before_pull = lambda names: "cancel"
    assert not controller.pull()
    assert git(bob.root, "rev-parse", "HEAD") == head and editor.is_dirty()
    assert (bob.root / CALC).read_text() != "# alice\n"


def _conflicted_window(qtbot, clone, git_window):
    alice, bob = clone("alice"), clone("bob")
    _alice_pushes(alice, CALC, "# alice's calculator\n")
    (bob.root / CALC).write_text("# bob's calculator\n")
    WorkspaceRepo.open(bob).commit_all("bob")
    window, controller = git_window(bob)
    editor = window.tabs.open_flow("Calculator")
    _pull(qtbot, controller)
    assert controller.last_pull.outcome == "conflicts"
    dialog = controller.conflict_dialog
    assert dialog is not None and dialog.current_path() == CALC
    assert dialog.ours.toPlainText() == "# bob's calculator\n"
    assert dialog.theirs.toPlainText() == "# alice's calculator\n"
    assert "<<<<<<<" in dialog.merged.toPlainText()
    return bob, window, controller, dialog, editor


def test_conflict_dialog_use_theirs_then_finish_reloads_the_tab(qtbot, clone, git_window):
    bob, window, controller, dialog, editor = _conflicted_window(qtbot, clone, git_window)
    assert not dialog.buttons["Finish Merge"].isEnabled()
    dialog.buttons["Use Theirs"].click()
    assert dialog.buttons["Finish Merge"].isEnabled()
    dialog.buttons["Finish Merge"].click()
    assert (bob.root / CALC).read_text() == "# alice's calculator\n"
    assert editor.text() == "# alice's calculator\n"
    assert git(bob.root, "log", "-1", "--format=%p").count(" ") == 1  # a merge commit


def test_conflict_dialog_merged_text_edited_by_the_user(qtbot, clone, git_window):
    bob, window, controller, dialog, editor = _conflicted_window(qtbot, clone, git_window)
    dialog.views.setCurrentIndex(2)
    dialog.merged.setPlainText("# both calculators\n")
    dialog.buttons["Use Merged Text"].click()
    dialog.buttons["Finish Merge"].click()
    assert (bob.root / CALC).read_text() == "# both calculators\n" and editor.text() == "# both calculators\n"


def test_conflict_dialog_abort_restores_what_was_there(qtbot, clone, git_window):
    bob, window, controller, dialog, editor = _conflicted_window(qtbot, clone, git_window)
    dialog.buttons["Abort Merge"].click()
    assert (bob.root / CALC).read_text() == "# bob's calculator\n"
    assert editor.text() == "# bob's calculator\n" and not editor.is_dirty()
    assert not (Path(bob.root) / ".git" / "MERGE_HEAD").exists()


def test_panel_lists_changes_shows_diff_stages_and_commits_with_ctrl_enter(qtbot, clone, git_window):
    ws = clone("alice")
    (ws.root / CALC).write_text("# changed line\n")
    window, controller = git_window(ws)
    panel = controller.panel
    controller.refresh()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=10000)
    assert "main → origin/main" in panel.branch_label.text()
    assert panel.select_path(CALC)
    # The diff opens as an editor tab; the new side has one line, padded with filler rows to
    # stay aligned with the old side (tests/app/test_git_diff_tab.py checks it in detail).
    page = window.tabs.page(f"diff:{CALC}")
    assert page is not None and window.tabs.currentWidget() is page
    qtbot.waitUntil(lambda: page.right.text().startswith("# changed line\n"), timeout=10000)
    assert page.right.text().strip() == "# changed line"
    assert "def handler" in page.left.text() and page.diff.hunks
    panel.stageRequested.emit([CALC])
    qtbot.waitUntil(lambda: panel.model.file_at(0) is not None and panel.model.file_at(0).staged, timeout=10000)
    panel.commit_message.setPlainText("calculator rewritten")
    panel.commit_message.setFocus()
    qtbot.keyClick(panel.commit_message, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=10000)
    assert git(ws.root, "log", "-1", "--format=%s").strip() == "calculator rewritten"
    assert git(ws.root, "show", f"HEAD:{CALC}") == "# changed line\n"
    assert "↑1" in panel.branch_label.text()


def test_history_restore_reloads_the_open_tab(qtbot, clone, git_window):
    ws = clone("alice")
    original = (ws.root / CALC).read_text()
    (ws.root / CALC).write_text("# v2\n")
    WorkspaceRepo.open(ws).commit_all("v2")
    window, controller = git_window(ws)
    editor = window.tabs.open_flow("Calculator")
    controller.show_history(CALC)
    dialog = controller.history_dialog
    assert dialog.commits.count() == 2
    dialog.commits.setCurrentRow(1)
    dialog.show_button.click()
    assert dialog.text.toPlainText() == original.rstrip("\n") or dialog.text.toPlainText() == original
    dialog.restore_button.click()
    assert (ws.root / CALC).read_text() == original and editor.text() == original


def test_push_rejected_is_a_message_not_a_traceback(qtbot, clone, git_window):
    alice, bob = clone("alice"), clone("bob")
    _alice_pushes(alice, CALC, "# alice\n")
    (bob.root / "flows/Messenger.py").write_text("# bob\n")
    WorkspaceRepo.open(bob).commit_all("bob")
    window, controller = git_window(bob)
    window.last_error = None
    controller.push()
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=15000)
    assert "Pull first" in window.last_error and "Traceback" not in window.last_error
    assert "Pull first" in controller.panel.message_label.text()


def test_workspace_without_repository_offers_init(qtbot, workspace, git_window):
    window, controller = git_window(Workspace.open(workspace.root))
    controller.refresh()
    assert controller.panel.branch_label.text() == "Not a Git repository"
    controller.init_repository()
    qtbot.waitUntil(lambda: controller.panel.model.rowCount() > 0, timeout=10000)
    assert ".flowdesk/" in (workspace.root / ".gitignore").read_text()
    assert all(not f.path.startswith(".flowdesk") for f in controller.panel.model.files())


def test_clone_dialog_clones_with_progress_and_opens_the_workspace(qtbot, tmp_path, remote, git_window, workspace):
    from app.git import open_clone_dialog

    window, controller = git_window(Workspace.open(workspace.root))
    dialog = open_clone_dialog(window)
    seen = []
    dialog.relay.progressed.connect(lambda cur, top, stage: seen.append(stage))
    dialog.url.setText(remote)
    dialog.folder.setText(str(tmp_path))
    assert dialog.name.text() == "remote"
    dialog.name.setText("cloned here")
    with qtbot.waitSignal(window.bridge.opened, timeout=20000):
        dialog.clone_button.click()
    assert seen, "no progress reported"
    assert window.workspace.root == (tmp_path / "cloned here").resolve()
    assert (tmp_path / "cloned here" / CALC).is_file()


def test_clone_dialog_cancel_removes_the_folder(qtbot, tmp_path, remote, git_window, workspace, monkeypatch):
    import app.git.clone_dialog as clone_dialog

    real_clone = clone_dialog.GitRepository.clone

    def slow_network_clone(url, dest, progress, cancel):
        assert cancel.wait(10), "Cancel never reached the clone"  # as if the transfer took long
        return real_clone(url, dest, progress, cancel)

    monkeypatch.setattr(clone_dialog.GitRepository, "clone", slow_network_clone)
    from app.git import open_clone_dialog

    window, _ = git_window(Workspace.open(workspace.root))
    dialog = open_clone_dialog(window)
    dialog.url.setText(remote)
    dialog.folder.setText(str(tmp_path))
    dialog.name.setText("never")
    dialog.clone_button.click()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=15000)
    assert dialog.error == "clone cancelled; nothing was kept"
    assert not (tmp_path / "never").exists()
    assert window.workspace.root == workspace.root.resolve()  # still the old workspace
