"""What an editor tab holds: a flow (``flows/<name>.py``), a workspace file (``files/<name>``)
or a file at the workspace's root (``requirements.txt``). Each knows its title, its session key
and where it is saved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine_core import Workspace

from .editor import CodeEditor
from .linting import LintScheduler

FILES_PREFIX = "files/"  # a file tab's title and session key; flow names cannot hold a '/'
ROOT_PREFIX = "./"  # a root file's session key (its title is its bare name): no flow name starts with '.'


@dataclass(eq=False)
class OpenFlow:
    name: str
    editor: CodeEditor
    linter: LintScheduler | None
    saved_signal = "saved"  # the EditorTabs signal a save emits with the name

    def title(self) -> str:
        return self.name

    key = title  # what the session stores

    def path(self, workspace: Workspace) -> Path:
        return workspace.flow_path(self.name)


@dataclass(eq=False)
class OpenFile:
    name: str  # relative to files/
    editor: CodeEditor
    linter = None  # not a flow: nothing to lint
    saved_signal = "fileSaved"

    def title(self) -> str:
        return FILES_PREFIX + self.name

    key = title

    def path(self, workspace: Workspace) -> Path:
        return workspace.file_path(self.name)


@dataclass(eq=False)
class OpenRootFile(OpenFile):
    """A text file at the workspace's root (the Packages panel's ``requirements.txt``). It is an
    OpenFile in every way (saved atomically to its path, not linted, dirty marker, prompt) but
    where it lives: titled with its path from the root (as Git names it, so a pull reloads the
    tab), kept in the session as ``./<name>`` so a flow of the same name is never confused with it."""
    saved_signal = "rootFileSaved"

    def title(self) -> str:
        return self.name

    def key(self) -> str:
        return ROOT_PREFIX + self.name

    def path(self, workspace: Workspace) -> Path:
        return workspace.root / self.name
