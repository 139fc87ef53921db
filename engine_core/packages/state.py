"""``status()``: each requirement with what is installed for it, for ``flowdesk packages list``
and the IDE's Packages view."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import needs_install, read_current
from .environment import allows, conflict_message, flowdesk_distribution
from .requirements import canonical, read_requirements

STATES = ("installed", "missing", "outdated", "conflict", "flowdesk", "error")


@dataclass(frozen=True)
class PackageRow:
    name: str
    wanted: str              # the specifier ("" for any version) or the line as written
    installed: str | None    # the version workers import, None when none
    state: str               # one of STATES
    detail: str = ""         # why (the conflict, the parse error...)


@dataclass
class PackagesStatus:
    rows: list[PackageRow] = field(default_factory=list)
    up_to_date: bool = True
    missing: list[str] = field(default_factory=list)
    set_dir: Path | None = None


def status(root: Path) -> PackagesStatus:
    from . import site_dir

    requirements = read_requirements(root)
    current = read_current(root) or {}
    installed = {canonical(name): version for name, version in (current.get("installed") or {}).items()}
    up_to_date = not needs_install(root)
    rows: list[PackageRow] = []
    for line, message in requirements.errors:
        rows.append(PackageRow(f"line {line}", "", None, "error", message))
    for entry in requirements.entries:
        if not entry.applies:
            continue  # its marker excludes this machine: pip skips it too
        if entry.name is None:
            rows.append(PackageRow(entry.text, entry.text, None, "installed" if up_to_date else "missing"))
            continue
        dist = flowdesk_distribution(entry)
        if dist is not None:
            if allows(entry, dist.version):
                rows.append(PackageRow(entry.name, entry.specifier, dist.version, "flowdesk",
                                       "part of Flowdesk's own environment"))
            else:
                rows.append(PackageRow(entry.name, entry.specifier, dist.version, "conflict",
                                       conflict_message(entry, dist)))
            continue
        version = installed.get(canonical(entry.name))
        if version is None:
            rows.append(PackageRow(entry.name, entry.specifier, None, "missing", "not installed yet"))
        elif not allows(entry, version):
            rows.append(PackageRow(entry.name, entry.specifier, version, "outdated",
                                   f"{version} is installed; requirements.txt wants {entry.specifier}"))
        else:
            rows.append(PackageRow(entry.name, entry.specifier, version, "installed"))
    missing = [row.name for row in rows if row.state in ("missing", "outdated")]
    return PackagesStatus(rows, up_to_date, missing, site_dir(root))
