"""A file's changes as a side-by-side diff: HEAD on the left, the working tree on the right,
rows aligned so that corresponding lines face each other (a side without a counterpart gets
an empty *filler* row), each row marked equal / removed / added / changed, the changes listed
as hunks for next/previous navigation, and the characters that differ inside changed lines.

Pure logic plus reading the two versions with git; no Qt, so it runs on a worker thread and
is tested without a display. ``FileDiff.state`` tells the page what to show when there is no
text diff (binary, no changes, too large)."""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import git

from .repository import GitRepository

EQUAL, REMOVED, ADDED, CHANGED, FILLER = "equal", "removed", "added", "changed", "filler"

# Past these, difflib's worst case (quadratic in the lines that differ) could take seconds:
# a file this big is shown with a message pointing to git diff instead.
MAX_BYTES = 8 * 1024 * 1024
MAX_LINES = 200_000
# Lines differing in a block larger than this (left x right lines) are matched with difflib's
# junk heuristic (lines that are too frequent, e.g. blank ones, do not anchor a match): the
# alignment may be slightly less tight, but it stays fast.
_EXACT_MATCH_BUDGET = 4_000_000
# Character-level highlighting only for lines a reader compares by eye.
_MAX_INLINE_CHARS = 400
_BINARY_PROBE = 8000  # git's own rule: a NUL byte in the first 8000 bytes means binary


@dataclass
class Side:
    """One column of the diff, row by row: the text, the line number in that version (None
    for a filler row) and the row's kind."""

    lines: list[str] = field(default_factory=list)
    numbers: list[int | None] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    # Changed rows -> the (start, end) character ranges that differ from the facing line.
    differing: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def add(self, line: str, number: int | None, kind: str) -> None:
        self.lines.append(line)
        self.numbers.append(number)
        self.kinds.append(kind)

    def rows_of(self, kind: str) -> list[int]:
        return [row for row, k in enumerate(self.kinds) if k == kind]


@dataclass(frozen=True)
class Hunk:
    """One change: rows ``start`` (inclusive) to ``end`` (exclusive) of both sides."""

    start: int
    end: int


@dataclass
class SideBySide:
    left: Side
    right: Side
    hunks: list[Hunk]
    added: int  # lines only in the working tree (as git diff --numstat counts them)
    removed: int  # lines only in HEAD

    def next_hunk(self, row: int) -> Hunk | None:
        """The first change starting below ``row``; wraps to the first one (as VS Code does)."""
        return next((h for h in self.hunks if h.start > row), self.hunks[0] if self.hunks else None)

    def previous_hunk(self, row: int) -> Hunk | None:
        """The last change starting above ``row``; wraps to the last one."""
        return next((h for h in reversed(self.hunks) if h.start < row), self.hunks[-1] if self.hunks else None)


def compare(old: str | None, new: str | None) -> SideBySide:
    """Align ``old`` (HEAD) with ``new`` (working tree). A side that is None (the file is new,
    or deleted) stays empty rather than a column of fillers, and every line of the other side
    is added (or removed)."""
    a, b = _lines(old), _lines(new)
    left, right, hunks = Side(), Side(), []
    if old is None or new is None:
        kind, side, lines = (ADDED, right, b) if old is None else (REMOVED, left, a)
        for number, line in enumerate(lines, 1):
            side.add(line, number, kind)
        if lines:
            hunks.append(Hunk(0, len(lines)))
        return SideBySide(left, right, hunks, len(b) if old is None else 0, len(a) if new is None else 0)
    for tag, i1, i2, j1, j2 in _opcodes(a, b):
        if tag == "equal":
            for offset in range(i2 - i1):
                left.add(a[i1 + offset], i1 + offset + 1, EQUAL)
                right.add(b[j1 + offset], j1 + offset + 1, EQUAL)
            continue
        start = len(left.lines)
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + offset, j1 + offset
            if offset < paired:
                left.add(a[i], i + 1, CHANGED)
                right.add(b[j], j + 1, CHANGED)
                row = start + offset
                left.differing[row], right.differing[row] = _inline_ranges(a[i], b[j])
                continue
            # Past the paired lines one side has no counterpart: a filler row keeps alignment.
            if i < i2:
                left.add(a[i], i + 1, REMOVED)
            else:
                left.add("", None, FILLER)
            if j < j2:
                right.add(b[j], j + 1, ADDED)
            else:
                right.add("", None, FILLER)
        hunks.append(Hunk(start, len(left.lines)))
    added = sum(k in (ADDED, CHANGED) for k in right.kinds)
    removed = sum(k in (REMOVED, CHANGED) for k in left.kinds)
    return SideBySide(left, right, hunks, added, removed)


def _lines(text: str | None) -> list[str]:
    return text.splitlines() if text else []


def _opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes, with the common head and tail matched first (they are most of an
    edited file, and cost nothing to match) so difflib only sees the part that differs."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    mid_a, mid_b = a[head:len(a) - tail], b[head:len(b) - tail]
    junk = len(mid_a) * len(mid_b) > _EXACT_MATCH_BUDGET
    codes = [] if not head else [("equal", 0, head, 0, head)]
    if mid_a or mid_b:
        matcher = difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=junk)
        codes += [(t, i1 + head, i2 + head, j1 + head, j2 + head) for t, i1, i2, j1, j2 in matcher.get_opcodes()]
    if tail:
        codes.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return codes


def _inline_ranges(old: str, new: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The character ranges that differ between two paired lines (as VS Code darkens them),
    compared word by word: "value" -> "total" is one change, not the letters they don't share."""
    if len(old) > _MAX_INLINE_CHARS or len(new) > _MAX_INLINE_CHARS:
        return [], []
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    starts_a, starts_b = _offsets(a), _offsets(b)
    left, right = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            left.append((starts_a[i1], starts_a[i2]))
        if j2 > j1:
            right.append((starts_b[j1], starts_b[j2]))
    return left, right


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def _offsets(tokens: list[str]) -> list[int]:
    """Where each token starts, plus the end: offsets[i]..offsets[j] spans tokens i to j-1."""
    offsets = [0]
    for token in tokens:
        offsets.append(offsets[-1] + len(token))
    return offsets


# -- the two versions of a file --------------------------------------------------------------
@dataclass
class FileDiff:
    """What the diff page shows for ``path``. ``state``: "changed" (see ``diff``), "unchanged",
    "line endings" (only CRLF/LF or the final newline differ), "empty" (an empty file added or
    deleted), "binary", "too large", or "missing" (in neither HEAD nor the working tree)."""

    path: str
    state: str
    old_exists: bool
    new_exists: bool
    diff: SideBySide | None = None
    old_size: int = 0
    new_size: int = 0
    fingerprint: bytes = b""  # of both versions: a refresh that finds the same one changes nothing

    @property
    def message(self) -> str:
        """A sentence for the page when there is no text to compare side by side."""
        name = Path(self.path).name
        if self.state == "unchanged":
            return f"No changes: {name} in the working tree is the same as in HEAD (the last commit)."
        if self.state == "line endings":
            return (f"{name}: only the line endings (CRLF/LF) or the newline at the end differ from HEAD; "
                    f"every line reads the same.")
        if self.state == "empty":
            where = "new: not in HEAD" if self.new_exists else "deleted from the working tree"
            return f"{name} is an empty file, {where}."
        if self.state == "binary":
            return (f"{name} is a binary file: no text to compare. HEAD: {_size(self.old_size, self.old_exists)}; "
                    f"working tree: {_size(self.new_size, self.new_exists)}.")
        if self.state == "too large":
            return (f"{name} is too large to compare here ({_size(max(self.old_size, self.new_size), True)}). "
                    f"Compare it in a terminal: git diff HEAD -- {self.path}")
        if self.state == "missing":
            return f"No changes: {self.path} is neither in HEAD nor in the working tree."
        return ""


def _size(size: int, exists: bool) -> str:
    if not exists:
        return "absent"
    return f"{size:,} bytes" if size < 10_000 else f"{size / 1024:,.0f} KB"


def file_diff(old: bytes | None, new: bytes | None, path: str) -> FileDiff:
    """Compare two versions of ``path`` (None: the version does not exist)."""
    result = FileDiff(path, "changed", old is not None, new is not None,
                      old_size=len(old or b""), new_size=len(new or b""), fingerprint=_fingerprint(old, new))
    if old is None and new is None:
        result.state = "missing"
    elif old == new:
        result.state = "unchanged"
    elif _is_binary(old) or _is_binary(new):
        result.state = "binary"
    elif max(result.old_size, result.new_size) > MAX_BYTES:
        result.state = "too large"
    else:
        old_text, new_text = _decode(old), _decode(new)
        if max(len(_lines(old_text)), len(_lines(new_text))) > MAX_LINES:
            result.state = "too large"
        else:
            result.diff = compare(old_text, new_text)
            if not result.diff.hunks:  # the bytes differ, yet no line does
                result.state = "line endings" if old is not None and new is not None else "empty"
    return result


def _fingerprint(old: bytes | None, new: bytes | None) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for data in (old, new):
        digest.update(b"-" if data is None else b"+%d:" % len(data) + data)
    return digest.digest()


def _is_binary(data: bytes | None) -> bool:
    return data is not None and b"\0" in data[:_BINARY_PROBE]


def _decode(data: bytes | None) -> str | None:
    # Undecodable bytes become U+FFFD: the diff still shows where the lines differ.
    return None if data is None else data.decode("utf-8", "replace")


def read_versions(repository: GitRepository, path: str,
                  original: str | None = None) -> tuple[bytes | None, bytes | None]:
    """(HEAD's bytes of ``original or path``, the working tree's bytes of ``path``); None for
    a version that does not exist (a new file, a deleted one, no commit yet)."""
    old = None
    if repository.has_commits():
        try:  # cat-file: the blob's bytes as committed, no text conversion
            old = repository.repo.git.execute(["git", "cat-file", "blob", f"HEAD:{original or path}"],
                                              stdout_as_string=False, strip_newline_in_stdout=False)
        except git.GitCommandError:  # not in HEAD: a new file
            old = None
    target = repository.root / path
    new = target.read_bytes() if target.is_file() else None
    return old, new


def load(root: Path, path: str, original: str | None = None) -> FileDiff:
    """Read both versions of ``path`` in the repository at ``root`` and compare them: the
    worker-thread half of the diff page (its own git.Repo, so no object is shared between
    threads)."""
    repository = GitRepository.open(root)
    try:
        return file_diff(*read_versions(repository, path, original), path)
    finally:
        repository.repo.close()
