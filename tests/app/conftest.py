"""Fixtures for driving the real IDE widgets (offscreen)."""

from __future__ import annotations

import pytest


@pytest.fixture
def session(tmp_path, monkeypatch):
    from app.session import Session

    monkeypatch.setenv("FLOWDESK_CONFIG_DIR", str(tmp_path / "config"))
    return Session()


@pytest.fixture
def make_window(qtbot, session):
    """Open main windows on a workspace; each is closed (without prompts) at the end."""
    from app.main_window import MainWindow

    windows = []

    def make(workspace=None, *, wait_engine=True):
        window = MainWindow(session=session)
        qtbot.addWidget(window)
        window.tabs.ask_save_changes = lambda names: "discard"
        window.show()
        if workspace is not None:
            with qtbot.waitSignal(window.bridge.opened, timeout=20000, raising=wait_engine):
                assert window.open_workspace(str(workspace))
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.tabs.ask_save_changes = lambda names: "discard"
        window.close()
        window.bridge.close()
