"""A workspace: a folder with ``flows/<name>.py`` and local state in ``.flowdesk/``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import FlowExistsError, UnknownFlowError, WorkspaceError

FLOWS_DIR = "flows"
FILES_DIR = "files"  # system.file(...): synced by Git like the flows
CONNECTORS_DIR = "connectors"  # stored connector records, <name>.json: synced by Git, no secrets
STATE_DIR = ".flowdesk"
_FORBIDDEN_IN_NAMES = set('/\\\0')
NEW_FLOW_TEMPLATE = """import flow_api


def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
    this.log('hello from a new flow')
    return this.success('all done')
"""


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, path: str | os.PathLike, *, create: bool = False) -> "Workspace":
        """Open the workspace at ``path``; with ``create``, make the folders if missing."""
        root = Path(path).expanduser().resolve()
        if create:
            (root / FLOWS_DIR).mkdir(parents=True, exist_ok=True)
        if not root.is_dir():
            raise WorkspaceError(f"workspace {root} does not exist; pass an existing folder with --workspace")
        if not (root / FLOWS_DIR).is_dir():
            raise WorkspaceError(
                f"{root} is not a Flowdesk workspace: it has no '{FLOWS_DIR}/' folder; "
                f"create {root / FLOWS_DIR} or pass another folder with --workspace"
            )
        if not os.access(root / FLOWS_DIR, os.R_OK | os.X_OK):
            raise WorkspaceError(f"cannot read {root / FLOWS_DIR}: check its permissions")
        return cls(root)

    @property
    def flows_dir(self) -> Path:
        return self.root / FLOWS_DIR

    @property
    def state_dir(self) -> Path:
        """Local, never-committed state (database, session). Created on first use."""
        path = self.root / STATE_DIR
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            # The folder ignores itself, so no workspace repository ever commits it.
            (path / ".gitignore").write_text("*\n")
        return path

    @property
    def files_dir(self) -> Path:
        return self.root / FILES_DIR

    # -- connector records (engine_core.connectors.records) ------------------------------
    @property
    def connectors_dir(self) -> Path:
        return self.root / CONNECTORS_DIR

    def connector_record_path(self, name: str) -> Path:
        """The file of connector record ``name`` (which need not exist)."""
        if (not isinstance(name, str) or not name or name.strip() != name or set(name) & _FORBIDDEN_IN_NAMES
                or name.startswith(".")):
            raise WorkspaceError(f"{name!r} is not a valid connector record name: no slashes, no leading dot "
                                 "or spaces, e.g. 'crm-api'")
        return self.connectors_dir / f"{name}.json"

    def connector_record_names(self) -> list[str]:
        if not self.connectors_dir.is_dir():
            return []
        return sorted(p.stem for p in self.connectors_dir.glob("*.json") if p.is_file() and not p.name.startswith("."))

    # -- files (system.file) -------------------------------------------------------------
    def file_names(self) -> list[str]:
        """The files under ``files/``, as posix paths relative to it, sorted."""
        if not self.files_dir.is_dir():
            return []
        return sorted(p.relative_to(self.files_dir).as_posix() for p in self.files_dir.rglob("*")
                      if p.is_file() and not any(part.startswith(".") for part in p.relative_to(self.files_dir).parts))

    def file_path(self, name: str) -> Path:
        """The path of file ``name`` (which need not exist); sub folders with '/'."""
        parts = name.replace("\\", "/").split("/") if isinstance(name, str) else []
        if not name or "\0" in name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise WorkspaceError(f"{name!r} is not a valid file name: use a relative path like 'reports/today.csv' "
                                 "without '..'")
        return self.files_dir.joinpath(*parts)

    def read_file(self, name: str) -> bytes:
        return self.file_path(name).read_bytes()

    def write_file(self, name: str, data: bytes) -> Path:
        from .fileio import write_atomically

        path = self.file_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
        return path

    def delete_file(self, name: str) -> None:
        self.file_path(name).unlink()

    def flow_names(self) -> list[str]:
        return sorted(p.stem for p in self.flows_dir.glob("*.py") if p.is_file())

    def flow_path(self, name: str) -> Path:
        """The file of flow ``name`` (which need not exist yet)."""
        if not name or name.strip() != name or set(name) & _FORBIDDEN_IN_NAMES or name.startswith("."):
            raise UnknownFlowError(f"{name!r} is not a valid flow name (no slashes, no leading dot or spaces)")
        return self.flows_dir / f"{name}.py"

    def has_flow(self, name: str) -> bool:
        try:
            return self.flow_path(name).is_file()
        except UnknownFlowError:
            return False

    def read_flow(self, name: str) -> tuple[Path, str]:
        """Path and source text of flow ``name``; UnknownFlowError names what exists instead."""
        path = self.flow_path(name)
        try:
            return path, path.read_text(encoding="utf-8")
        except FileNotFoundError:
            known = ", ".join(repr(n) for n in self.flow_names()) or "none"
            raise UnknownFlowError(
                f"no flow {name!r} in workspace {self.root} (expected {path}); flows there: {known}"
            ) from None
        except UnicodeDecodeError as exc:
            raise UnknownFlowError(f"flow file {path} is not UTF-8 text ({exc.reason}); save it as UTF-8") from None

    # -- editing flows (the IDE's explorer; each a single filesystem step) --------------
    def create_flow(self, name: str, source: str | None = None) -> Path:
        """Write a new flow from the template; FlowExistsError if the name is taken."""
        path = self.flow_path(name)
        if path.exists():
            raise FlowExistsError(f"a flow {name!r} already exists ({path}); choose another name")
        path.write_text(source if source is not None else NEW_FLOW_TEMPLATE, encoding="utf-8")
        return path

    def save_flow(self, name: str, source: str) -> Path:
        """Create flow ``name`` or replace its script (``system.flow(name).save(script=...)``)."""
        from .fileio import write_atomically

        path = self.flow_path(name)
        write_atomically(path, source)
        return path

    def rename_flow(self, old: str, new: str) -> Path:
        source, target = self.flow_path(old), self.flow_path(new)
        if not source.exists():
            raise UnknownFlowError(f"no flow {old!r} to rename in {self.flows_dir}")
        if target.exists() and target != source:
            raise FlowExistsError(f"a flow {new!r} already exists ({target}); choose another name")
        source.rename(target)
        return target

    def delete_flow(self, name: str) -> None:
        path = self.flow_path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise UnknownFlowError(f"no flow {name!r} to delete in {self.flows_dir}") from None

    def config(self) -> dict:
        """Settings from ``.flowdesk/config.toml`` (e.g. ``db_url``); empty if there is none."""
        path = self.root / STATE_DIR / "config.toml"
        if not path.is_file():
            return {}
        import tomllib  # only here: most workspaces have no config, and every CLI start reads this

        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise WorkspaceError(f"{path} is not valid TOML ({exc}); fix or delete it") from None

    def default_db_url(self) -> str:
        return f"sqlite:///{self.state_dir / 'flowdesk.db'}"
