"""What the linter reports, shared by the editor, the Problems panel and the CLI."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuickFix:
    """A change the editor can make for the user to solve a problem (Ctrl+. on its line)."""

    title: str  # what the menu shows, e.g. "Add PyYAML to requirements.txt and install"
    kind: str  # what to do: "add_requirement"
    argument: str  # what to do it with: for "add_requirement", the requirement line ("PyYAML")


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based
    column: int  # 0-based, in characters
    message: str
    severity: str = "warning"  # "error" (the flow cannot run) | "warning"
    source: str = "pyflakes"  # "syntax" | "pyflakes" | "flows" | "packages"
    end_column: int | None = None  # 0-based, exclusive; None: to the end of the word/line
    fix: QuickFix | None = None  # what the editor offers to do about it, if anything


@dataclass(frozen=True)
class Completion:
    name: str  # what is shown in the list
    insert: str  # the text that completes what was typed (the whole name)
    kind: str = "name"  # "function" | "method" | "property" | "flow" | "keyword" | "module" | ...
    signature: str = ""  # e.g. "flow(flow_name, *, name=None, wait=True, **inputs) -> Execution"
    doc: str = ""  # the member's docstring (cleaned up, possibly several lines); '' if unknown
