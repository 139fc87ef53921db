"""After git changed files on disk: bring open editor tabs up to date without losing
unsaved edits (a dirty buffer is reloaded only if the user says so)."""

from __future__ import annotations

from typing import Callable


def reload_open_flows(tabs, paths: list[str] | None, ask_reload: Callable[[str], bool]) -> list[str]:
    """Reload the open flows among ``paths`` (all open flows when None) whose file differs
    from the buffer. Returns the names reloaded or closed."""
    wanted = None if paths is None else {_flow(p) for p in paths} - {None}
    touched = []
    for editor in list(tabs.editors()):
        name = tabs.flow_of(editor)
        if wanted is not None and name not in wanted:
            continue
        path = tabs.workspace.flow_path(name)
        text = path.read_text(encoding="utf-8") if path.is_file() else None
        if text == editor.text():
            if editor.is_dirty():
                editor.mark_clean()  # the file now holds exactly what the buffer has
            continue
        if editor.is_dirty() and not ask_reload(name):
            continue  # the user keeps their edits; the tab stays dirty
        if text is None:
            tabs.flow_deleted(name)
        else:
            editor.set_text(text)
            tabs.saved.emit(name)  # listeners (lint, graph, debugger) treat it as a fresh file
        touched.append(name)
    return touched


def _flow(path: str) -> str | None:
    head, _, tail = path.partition("/")
    return tail[:-3] if head == "flows" and tail.endswith(".py") and "/" not in tail else None
