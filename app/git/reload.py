"""After git changed files on disk: bring open editor tabs (flows and workspace files) up to
date without losing unsaved edits (a dirty buffer is reloaded only if the user says so)."""

from __future__ import annotations

from typing import Callable


def reload_open_flows(tabs, paths: list[str] | None, ask_reload: Callable[[str], bool]) -> list[str]:
    """Reload the open tabs among ``paths`` (repository paths like ``flows/a.py`` or
    ``files/data.csv``; all open tabs when None) whose file differs from the buffer. Returns
    the titles (flow names, ``files/<name>``) reloaded or closed."""
    wanted = None if paths is None else set(paths)
    touched = []
    for editor in list(tabs.editors()):
        flow, title = tabs.flow_of(editor), tabs.title_of(editor)
        repo_path = f"flows/{flow}.py" if flow is not None else title  # a file's title is files/<name>
        if wanted is not None and repo_path not in wanted:
            continue
        path = tabs.workspace.root / repo_path
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else None
        except UnicodeDecodeError:
            continue  # a file that became binary: the tab keeps the text it has
        if text == editor.text():
            if editor.is_dirty():
                editor.mark_clean()  # the file now holds exactly what the buffer has
            continue
        if editor.is_dirty() and not ask_reload(title):
            continue  # the user keeps their edits; the tab stays dirty
        if text is None:
            tabs.discard(editor)
        else:
            editor.set_text(text)
            if flow is not None:
                tabs.saved.emit(flow)  # listeners (lint, graph, debugger) treat it as a fresh file
        touched.append(title)
    return touched
