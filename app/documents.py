"""What an editor tab holds: a flow (``flows/<name>.py``) or a workspace file
(``files/<name>``). Each knows its title and where it is saved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine_core import Workspace

from .editor import CodeEditor
from .linting import LintScheduler

FILES_PREFIX = "files/"  # a file tab's title and session key; flow names cannot hold a '/'


@dataclass(eq=False)
class OpenFlow:
    name: str
    editor: CodeEditor
    linter: LintScheduler | None

    def title(self) -> str:
        return self.name

    def path(self, workspace: Workspace) -> Path:
        return workspace.flow_path(self.name)


@dataclass(eq=False)
class OpenFile:
    name: str  # relative to files/
    editor: CodeEditor
    linter = None  # not a flow: nothing to lint

    def title(self) -> str:
        return FILES_PREFIX + self.name

    def path(self, workspace: Workspace) -> Path:
        return workspace.file_path(self.name)
