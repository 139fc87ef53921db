"""Flowdesk's own environment: the distributions it runs with, which a workspace's packages
must not replace (workers put the workspace's set *after* Flowdesk's paths, so Flowdesk's copy
would win anyway; pinning them makes pip resolve to the same versions, and say so when it
cannot, instead of installing a set that would import a mix of versions)."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

from .requirements import Entry, canonical


@dataclass(frozen=True)
class Distribution:
    name: str      # as the distribution spells it ("SQLAlchemy")
    version: str


@functools.lru_cache(maxsize=1)
def flowdesk_distributions() -> dict[str, Distribution]:
    """canonical name -> Distribution. In the frozen app the bundle's metadata is incomplete,
    so the list written at bundle time (``flowdesk-environment.txt``, lines name==version) is
    the truth; otherwise importlib.metadata of the running environment."""
    found: dict[str, Distribution] = {}
    if getattr(sys, "frozen", False):
        listing = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "flowdesk-environment.txt"
        try:
            lines = listing.read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        for line in lines:
            name, sep, version = line.strip().partition("==")
            if sep and name and version:
                found.setdefault(canonical(name), Distribution(name, version.strip()))
        return found
    from importlib import metadata

    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name and dist.version:
            # The first one on sys.path is the one imported; a later copy is shadowed.
            found.setdefault(canonical(name), Distribution(name, dist.version))
    return found


def constraints_text() -> str:
    """A pip constraints file pinning every distribution of Flowdesk's environment."""
    from packaging.version import InvalidVersion, Version

    lines = []
    for dist in sorted(flowdesk_distributions().values(), key=lambda d: canonical(d.name)):
        try:
            Version(dist.version)
        except InvalidVersion:  # pip cannot read such a pin; leave that one out
            continue
        lines.append(f"{dist.name}=={dist.version}")
    return "\n".join(lines) + "\n"


def satisfied_by_flowdesk(entry: Entry) -> Distribution | None:
    """Flowdesk's distribution that satisfies ``entry``, or None (not Flowdesk's, or conflicting)."""
    dist = flowdesk_distribution(entry)
    if dist is None or not allows(entry, dist.version):
        return None
    return dist


def flowdesk_distribution(entry: Entry) -> Distribution | None:
    if not entry.name:
        return None
    return flowdesk_distributions().get(canonical(entry.name))


def allows(entry: Entry, version: str) -> bool:
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion

    try:
        return SpecifierSet(entry.specifier).contains(version, prereleases=True)
    except InvalidVersion:
        return False


def conflict_message(entry: Entry, dist: Distribution) -> str:
    return (f"requirements.txt line {entry.line}: {entry.text} conflicts with Flowdesk's "
            f"{dist.name} {dist.version} (Flowdesk needs this version); remove or relax the requirement")


def direct_conflicts(entries: list[Entry]) -> list[str]:
    """Messages for the requirements that ask for another version of a Flowdesk distribution."""
    messages = []
    for entry in entries:
        if not entry.applies:
            continue
        dist = flowdesk_distribution(entry)
        if dist is not None and not allows(entry, dist.version):
            messages.append(conflict_message(entry, dist))
    return messages
