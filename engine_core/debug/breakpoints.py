"""Breakpoints of a workspace, kept in ``.flowdesk/breakpoints.json`` across restarts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from ..workspace import Workspace


@dataclass(frozen=True)
class Breakpoint:
    line: int  # 1-based
    enabled: bool = True
    condition: str | None = None  # stop only when this expression is true
    hit_condition: str | None = None  # e.g. "3" or ">= 5": stop on that hit count
    log_message: str | None = None  # a logpoint: print this ({expr} interpolated) instead of stopping

    def to_dap(self) -> dict:
        spec: dict = {"line": self.line}
        if self.condition:
            spec["condition"] = self.condition
        if self.hit_condition:
            spec["hitCondition"] = self.hit_condition
        if self.log_message:
            spec["logMessage"] = self.log_message
        return spec


class BreakpointStore:
    """Breakpoints per flow name; every change is written at once."""

    def __init__(self, workspace: Workspace):
        self._workspace = workspace
        self._path = workspace.root / ".flowdesk" / "breakpoints.json"
        self._by_flow: dict[str, dict[int, Breakpoint]] = self._load()

    def _load(self) -> dict[str, dict[int, Breakpoint]]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return {flow: {b["line"]: Breakpoint(**b) for b in items} for flow, items in data.items()}

    def _save(self) -> None:
        self._workspace.state_dir  # creates .flowdesk/ (ignored by git) when needed
        data = {flow: [asdict(b) for b in sorted(items.values(), key=lambda b: b.line)]
                for flow, items in sorted(self._by_flow.items()) if items}
        self._path.write_text(json.dumps(data, indent=2), encoding="utf-8")

    def for_flow(self, flow: str) -> list[Breakpoint]:
        return sorted(self._by_flow.get(flow, {}).values(), key=lambda b: b.line)

    def all(self) -> dict[str, list[Breakpoint]]:
        return {flow: self.for_flow(flow) for flow in sorted(self._by_flow) if self._by_flow[flow]}

    def toggle(self, flow: str, line: int) -> bool:
        """Add a breakpoint at ``line`` or remove the one there; True if one is there now."""
        items = self._by_flow.setdefault(flow, {})
        present = items.pop(line, None) is None
        if present:
            items[line] = Breakpoint(line)
        self._save()
        return present

    def set(self, flow: str, breakpoint: Breakpoint) -> None:
        self._by_flow.setdefault(flow, {})[breakpoint.line] = breakpoint
        self._save()

    def update(self, flow: str, line: int, **changes) -> Breakpoint:
        current = self._by_flow[flow][line]
        updated = replace(current, **changes)
        self._by_flow[flow][line] = updated
        self._save()
        return updated

    def remove(self, flow: str, line: int) -> None:
        self._by_flow.get(flow, {}).pop(line, None)
        self._save()

    def replace_lines(self, flow: str, lines: list[int]) -> None:
        """After edits moved markers: keep each breakpoint's settings on its new line."""
        old = self.for_flow(flow)
        self._by_flow[flow] = {line: replace(b, line=line) for b, line in zip(old, lines)}
        self._save()

    def rename_flow(self, old: str, new: str) -> None:
        if old in self._by_flow:
            self._by_flow[new] = self._by_flow.pop(old)
            self._save()

    def dap_breakpoints(self) -> dict[str, list[dict]]:
        """Enabled breakpoints by absolute flow path, as DAP ``SourceBreakpoint`` specs."""
        return {str(self._workspace.flow_path(flow)): [b.to_dap() for b in items if b.enabled]
                for flow, items in self.all().items()}
