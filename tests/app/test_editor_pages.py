"""Pages in the editor area (the welcome page, a diff): tabs that are no document."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def workspace(tmp_path):
    target = tmp_path / "ws"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns(".flowdesk"))
    return target


def test_a_page_is_one_tab_per_key_and_never_counts_as_an_editor(qtbot, make_window, workspace):
    window = make_window(workspace)
    tabs = window.tabs
    tabs.open_flow("Calculator")
    made = []
    page = tabs.open_page("diff:x", "x.py ↔", lambda: made.append(1) or QLabel("diff"))
    again = tabs.open_page("diff:x", "x.py ↔", lambda: made.append(1) or QLabel("diff"))
    assert page is again and made == [1]
    assert tabs.currentWidget() is page
    assert tabs.current_editor() is None and tabs.current_flow() is None
    assert tabs.open_flow_names() == ["Calculator"]
    assert "x.py ↔" not in tabs.tab_keys()  # pages are not reopened at the next start
    tabs.close_tab(tabs.indexOf(page))
    assert tabs.page("diff:x") is None
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Calculator"]
    tabs.open_page("welcome", "Welcome", lambda: QLabel("hi"))
    assert tabs.close_all()
    assert tabs.count() == 0


def test_a_page_about_a_flow_makes_it_the_current_flow(qtbot, make_window, workspace):
    """With the diff of a flow in front, F5 runs that flow (current_flow is what Run uses)."""
    window = make_window(workspace)
    tabs = window.tabs
    tabs.open_page("diff:flows/Calculator.py", "Calculator.py (changes)", lambda: QLabel("diff"), flow="Calculator")
    assert tabs.current_editor() is None
    assert tabs.current_flow() == "Calculator" and window.run_action.isEnabled()
    assert tabs.open_flow_names() == []  # still no editor tab of it
