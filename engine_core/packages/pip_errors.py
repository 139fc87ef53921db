"""pip's failure output turned into one message that names the package, quotes pip's reason
and says which line of requirements.txt to fix."""

from __future__ import annotations

import re
from pathlib import Path

from .environment import flowdesk_distributions
from .requirements import Requirements, canonical

_NOT_FOUND = re.compile(r"ERROR: Could not find a version that satisfies the requirement (\S+)")
_CANNOT = re.compile(r"ERROR: Cannot install (.+?) because these package versions have conflicting dependencies")
_CONSTRAINT = re.compile(r"The user requested \(constraint\) (\S+?)==(\S+)")
_DEPENDS = re.compile(r"^\s*(\S+) (\S+) depends on (\S+)")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
# pip names the distribution whose build (or build step) failed; it is the one to name, not
# whichever requirement happens to appear first in the output.
_FAILED_FOR = (
    re.compile(r"ERROR: Failed to build '?([A-Za-z0-9][A-Za-z0-9._-]*)'?"),
    re.compile(r"× .* for ([A-Za-z0-9][A-Za-z0-9._-]*) did not run successfully"),
)


def _line_of(requirements: Requirements, requirement: str) -> int | None:
    match = _NAME.match(requirement)
    if not match:
        return None
    name = canonical(match.group(0))
    for entry in requirements.entries:
        if entry.name and canonical(entry.name) == name:
            return entry.line
    return None


def _fix(requirements: Requirements, requirement: str) -> str:
    line = _line_of(requirements, requirement)
    if line is None:
        return "fix requirements.txt and install again"
    return f"fix requirements.txt line {line} and install again"


_FROM_FILE = re.compile(r"-r \S.*? \(line (\d+)\)")


def explain(output: str, requirements: Requirements, code: int, log_path: Path,
            line_map: dict[int, str] | None = None) -> str:
    """``line_map``: line of the file pip was given -> that requirement as written (pip names
    a requirement without a version by its file and line: "-r /…/x.txt (line 3)")."""
    if line_map:
        output = _FROM_FILE.sub(lambda m: line_map.get(int(m.group(1)), m.group(0)), output)
    lines = output.splitlines()
    match = next((m for m in map(_NOT_FOUND.search, lines) if m), None)
    if match:
        requirement = match.group(1)
        pip_line = next(line for line in lines if _NOT_FOUND.search(line)).strip()
        return (f"could not install {requirement}: no matching distribution (pip: {pip_line}); "
                f"{_fix(requirements, requirement)}")
    match = next((m for m in map(_CANNOT.search, lines) if m), None)
    if match:
        return _conflict(lines, match.group(1), requirements)
    errors = [line.strip() for line in lines if line.strip().startswith("ERROR:")]
    if errors:
        reason = "; ".join(errors[-3:])
        name = _failed_named(requirements, lines) or _first_named(requirements, output)
        subject = f"could not install {name}" if name else "pip could not install requirements.txt"
        return f"{subject} (pip: {reason}); see {log_path} for pip's whole output"
    tail = "; ".join(line.strip() for line in lines[-3:] if line.strip()) or "no output"
    return (f"pip failed (exit code {code}) installing requirements.txt (pip: {tail}); "
            f"see {log_path} for pip's whole output")


def _conflict(lines: list[str], subject: str, requirements: Requirements) -> str:
    """ResolutionImpossible: the "conflict is caused by" lines, and when one side is a pin of
    Flowdesk's environment, that version named as Flowdesk's."""
    try:
        start = next(i for i, line in enumerate(lines) if "The conflict is caused by" in line)
    except StopIteration:
        start = len(lines)
    causes = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        causes.append(line.strip())
    flowdesk = flowdesk_distributions()
    pinned = []
    for cause in causes:
        match = _CONSTRAINT.search(cause)
        if match and canonical(match.group(1)) in flowdesk:
            dist = flowdesk[canonical(match.group(1))]
            pinned.append(f"Flowdesk's {dist.name} {dist.version} (Flowdesk needs this version)")
    reason = "; ".join(c for c in causes if not (_CONSTRAINT.search(c) and pinned)) or "conflicting dependencies"
    first = subject.split(" and ")[0].split(",")[0].strip()
    fix = _fix(requirements, first)
    if pinned:
        return (f"could not install {subject}: {reason}, which conflicts with {', '.join(pinned)} "
                f"(pip: ResolutionImpossible); remove or relax that requirement: {fix}")
    return f"could not install {subject}: conflicting dependencies (pip: {reason}); {fix}"


def _failed_named(requirements: Requirements, lines: list[str]) -> str | None:
    """The requirement (as written) of the distribution pip says failed, else its bare name."""
    for pattern in _FAILED_FOR:
        for line in lines:
            match = pattern.search(line)
            if match:
                failed = canonical(match.group(1))
                entry = next((e for e in requirements.entries if e.name and canonical(e.name) == failed), None)
                return entry.text if entry else match.group(1)
    return None


def _first_named(requirements: Requirements, output: str) -> str | None:
    for entry in requirements.entries:
        if entry.name and entry.name.lower() in output.lower():
            return entry.text
    return None
