"""``requirements.txt`` read the way pip reads it (comments, line continuations, option
lines), with each requirement parsed by ``packaging`` so the rest of Flowdesk knows its name,
version specifier and line number (for messages that say which line to fix)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import requirements_path

# pip's comment rule: '#' at the start of a line or after whitespace (a URL's '#egg=' stays).
_COMMENT = re.compile(r"(^|\s+)#.*$")


@dataclass(frozen=True)
class Entry:
    line: int           # 1-based line in requirements.txt (the first of a continued line)
    text: str           # the requirement as written, without comment
    name: str | None    # the distribution's name as written; None for a bare path or URL
    specifier: str      # e.g. ">=1,<2"; "" for any version
    marker: str = ""    # environment marker, e.g. 'python_version < "3.12"'; "" for none
    applies: bool = True  # the marker holds on this machine (pip skips it otherwise)


@dataclass
class Requirements:
    entries: list[Entry] = field(default_factory=list)
    options: list[str] = field(default_factory=list)        # "--find-links ./wheels", "--no-index"...
    option_lines: list[int] = field(default_factory=list)   # their line numbers
    errors: list[tuple[int, str]] = field(default_factory=list)
    text: str = ""

    def named(self) -> list[Entry]:
        return [e for e in self.entries if e.name and e.applies]


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each logical line: comments stripped, backslash continuations
    joined, blank lines dropped."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.sub("", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append((start, line))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def _looks_like_path_or_url(text: str) -> bool:
    return ("://" in text or text.startswith((".", "/", "~")) or "\\" in text
            or text.endswith((".whl", ".zip", ".tar.gz", ".tar.bz2")))


def parse(text: str) -> Requirements:
    from packaging.requirements import InvalidRequirement, Requirement

    result = Requirements(text=text)
    for number, line in logical_lines(text):
        if line.startswith("-"):
            result.options.append(line)
            result.option_lines.append(number)
            continue
        if _looks_like_path_or_url(line) and "@" not in line:
            result.entries.append(Entry(number, line, None, ""))
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            result.errors.append((number, f"{line!r} is not a valid requirement ({exc})"))
            continue
        applies = True
        if req.marker is not None:
            try:
                applies = req.marker.evaluate()
            except Exception:  # an unknown marker variable: let pip judge it
                applies = True
        result.entries.append(Entry(number, line, req.name, str(req.specifier),
                                    "" if req.marker is None else str(req.marker), applies))
    return result


def read_requirements(root: Path) -> Requirements:
    """The workspace's requirements; an empty ``Requirements`` when there is no file."""
    path = requirements_path(root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Requirements()
    except (OSError, UnicodeDecodeError) as exc:
        from . import PackagesError

        raise PackagesError(f"cannot read {path}: {exc}") from None
    return parse(text)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def add_requirement(root: Path, requirement: str) -> None:
    """Append ``requirement`` as a line of ``requirements.txt`` (creating the file), unless a
    requirement of that distribution is there already (that line is left as the user wrote it)."""
    from packaging.requirements import InvalidRequirement, Requirement

    from . import PackagesError

    try:
        name = Requirement(requirement.strip()).name
    except InvalidRequirement as exc:
        raise PackagesError(f"{requirement!r} is not a valid requirement ({exc})") from None
    path = requirements_path(root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if any(e.name and canonical(e.name) == canonical(name) for e in parse(text).entries):
        return
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + requirement.strip() + "\n", encoding="utf-8")
