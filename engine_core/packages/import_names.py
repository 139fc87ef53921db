"""Which modules a flow can import, and which distribution to install for one it cannot.

Three places provide modules to a flow: the standard library, Flowdesk's own environment, and
the workspace's package set (``.flowdesk/packages/sets/<id>/``, the one ``current.json`` names).
The linter asks ``importable`` for every import on every pause in typing, so each answer is
cached: Flowdesk's environment does not change while the process runs, and a set is never
changed once installed (a new install makes a new set and points ``current.json`` at it), so
a set's listing is cached by its path and only ``current.json``'s mtime is checked per call.

Import names and distribution names differ often enough (``import yaml`` comes from PyYAML)
that the quick fix needs ``distribution_for_import``: installed metadata first (it is the
truth for what is installed), then a table of the well-known mismatches.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

from . import site_dir

# Import name -> the distribution that provides it, where the two differ and the module is
# usually not installed yet (so there is no metadata to ask). Dotted keys are for namespace
# packages whose top level is shared by several distributions.
COMMON_DISTRIBUTIONS = {
    "yaml": "PyYAML",
    "PIL": "Pillow",
    "cv2": "opencv-python",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "jwt": "PyJWT",
    "dotenv": "python-dotenv",
    "OpenSSL": "pyOpenSSL",
    "Crypto": "pycryptodome",
    "Cryptodome": "pycryptodomex",
    "serial": "pyserial",
    "usb": "pyusb",
    "git": "GitPython",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "zmq": "pyzmq",
    "attr": "attrs",
    "MySQLdb": "mysqlclient",
    "psycopg2": "psycopg2-binary",
    "magic": "python-magic",
    "ldap": "python-ldap",
    "ldap3": "ldap3",
    "google.protobuf": "protobuf",
    "google.cloud.storage": "google-cloud-storage",
    "googleapiclient": "google-api-python-client",
    "jose": "python-jose",
    "multipart": "python-multipart",
    "slugify": "python-slugify",
    "Levenshtein": "python-Levenshtein",
    "telegram": "python-telegram-bot",
    "win32api": "pywin32",
    "win32com": "pywin32",
    "kafka": "kafka-python",
    "nacl": "PyNaCl",
    "gi": "PyGObject",
    "fitz": "PyMuPDF",
    "Bio": "biopython",
    "websocket": "websocket-client",
    "hvac": "hvac",
    "ruamel": "ruamel.yaml",
    "lxml": "lxml",
    "markdown": "Markdown",
    "jinja2": "Jinja2",
    "snowflake.connector": "snowflake-connector-python",
    "azure.storage.blob": "azure-storage-blob",
    "azure.identity": "azure-identity",
}

PACKAGES_DIR = Path(".flowdesk") / "packages"

# Flowdesk's own environment: top-level name -> whether it imports (find_spec, asked once).
_flowdesk_found: dict[str, bool] = {}
_flowdesk_namespaces: dict[str, bool] = {}
_flowdesk_distributions: dict[str, list[str]] | None = None
# A set folder -> (its top-level module names, those that are namespace folders, its
# distributions by top-level name, read on first need).
_set_listings: dict[Path, tuple[frozenset[str], frozenset[str]]] = {}
_set_distributions: dict[Path, dict[str, list[str]]] = {}


def importable(module: str, root: Path | None = None) -> bool:
    """Whether ``import module`` finds it: in the standard library, Flowdesk's environment, or
    the set of packages installed for the workspace at ``root``. Only the top-level name is
    looked up (``yaml`` for ``yaml.constructor``), or the first two names when the top level is
    a namespace package shared by several distributions (``google.protobuf``)."""
    return WorkspaceModules(root).missing(module) is None


def missing_module(module: str, root: Path | None = None) -> str | None:
    """The part of ``module`` that cannot be found (``"yaml"`` for ``yaml.constructor``), or
    None when it is importable (see ``importable``)."""
    return WorkspaceModules(root).missing(module)


def distribution_for_import(module: str, root: Path | None = None) -> str | None:
    """The distribution to install for ``import module`` (``"yaml"`` -> ``"PyYAML"``): from the
    installed metadata of Flowdesk's environment and the workspace's set when one of them has it,
    else from a table of well-known mismatches, else the module's own top-level name. None for a
    relative or empty name."""
    return WorkspaceModules(root).distribution(module)


class WorkspaceModules:
    """The lookups above for one workspace (None: Flowdesk's environment only), its set folder
    found once: a lint asks about every import of the flow."""

    def __init__(self, root: Path | None):
        self.root = root
        self._set_dir: Path | None | bool = False  # False: not looked up yet

    @property
    def set_dir(self) -> Path | None:
        if self._set_dir is False:
            self._set_dir = workspace_set_dir(self.root) if self.root is not None else None
        return self._set_dir

    def missing(self, module: str) -> str | None:
        parts = module.split(".")
        top = parts[0]
        if not top or top in sys.stdlib_module_names or top in sys.builtin_module_names:
            return None
        in_flowdesk = _in_flowdesk(top)
        if in_flowdesk and (len(parts) == 1 or not _is_namespace(top)):
            return None  # nearly every import: answered without looking at the workspace
        set_dir = self.set_dir
        names, namespaces = _set_listing(set_dir) if set_dir is not None else (frozenset(), frozenset())
        if not in_flowdesk and top not in names:
            # 'google.protobuf' names what to install better than 'google' (shared by many).
            for length in range(len(parts), 1, -1):
                if ".".join(parts[:length]) in COMMON_DISTRIBUTIONS:
                    return ".".join(parts[:length])
            return top
        # A namespace top level (google, azure) says nothing about which of its parts is there.
        if len(parts) > 1 and (in_flowdesk or top in namespaces):
            second = f"{top}.{parts[1]}"
            if not (set_dir is not None and _exists_below(set_dir, parts[:2])) and not _in_flowdesk(second):
                return second
        return None

    def distribution(self, module: str) -> str | None:
        parts = module.split(".")
        if not parts[0]:
            return None
        # Most specific first: 'google.protobuf' before whatever else lives in 'google'.
        for length in range(len(parts), 1, -1):
            known = COMMON_DISTRIBUTIONS.get(".".join(parts[:length]))
            if known:
                return known
        top = parts[0]
        set_dir = self.set_dir
        found = (_set_distribution_map(set_dir).get(top) if set_dir is not None else None) \
            or _flowdesk_distribution_map().get(top)
        if found:
            return found[0]
        return COMMON_DISTRIBUTIONS.get(top, top)


def workspace_set_dir(root: Path) -> Path | None:
    """The package set the workspace at ``root`` uses now, or None (``packages.site_dir``)."""
    return site_dir(Path(root))


def clear_caches() -> None:
    """Forget what was looked up (tests; Flowdesk's environment changed under a running process)."""
    global _flowdesk_distributions
    _flowdesk_found.clear()
    _flowdesk_namespaces.clear()
    _set_listings.clear()
    _set_distributions.clear()
    _flowdesk_distributions = None


# -- the workspace's set ------------------------------------------------------------------

def _set_listing(set_dir: Path) -> tuple[frozenset[str], frozenset[str]]:
    """Top-level module names in the set (and which are namespace folders), with the folders
    its .pth files add (pip writes them for some distributions)."""
    listing = _set_listings.get(set_dir)
    if listing is None:
        names: set[str] = set()
        namespaces: set[str] = set()
        for folder in [set_dir, *_pth_folders(set_dir)]:
            _list_modules(folder, names, namespaces)
        listing = (frozenset(names), frozenset(namespaces))
        _set_listings[set_dir] = listing
    return listing


def _list_modules(folder: Path, names: set[str], namespaces: set[str]) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if entry.is_dir():
            if name.isidentifier() and name != "__pycache__":
                names.add(name)
                if not os.path.exists(os.path.join(entry.path, "__init__.py")):
                    namespaces.add(name)
        elif name.endswith(".py"):
            names.add(name[:-3])
        elif name.endswith((".so", ".pyd")):
            names.add(name.partition(".")[0])  # yaml/_yaml.cpython-311-x86_64-linux-gnu.so


def _pth_folders(set_dir: Path) -> list[Path]:
    folders = []
    for pth in set_dir.glob("*.pth"):
        try:
            lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.strip()
            if line and not line.startswith(("#", "import ", "import\t")):
                folder = (set_dir / line).resolve()
                if folder.is_dir():
                    folders.append(folder)
    return folders


def _exists_below(set_dir: Path, parts: list[str]) -> bool:
    for folder in [set_dir, *_pth_folders(set_dir)]:
        base = folder.joinpath(*parts)
        if base.is_dir() or base.with_suffix(".py").is_file():
            return True
    return False


def _set_distribution_map(set_dir: Path) -> dict[str, list[str]]:
    found = _set_distributions.get(set_dir)
    if found is None:
        found = _distribution_map(importlib.metadata.distributions(path=[str(set_dir)]))
        _set_distributions[set_dir] = found
    return found


# -- Flowdesk's environment ---------------------------------------------------------------

def _in_flowdesk(name: str) -> bool:
    found = _flowdesk_found.get(name)
    if found is None:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent that fails to import, a bad name
            found = False
        _flowdesk_found[name] = found
    return found


def _is_namespace(name: str) -> bool:
    found = _flowdesk_namespaces.get(name)
    if found is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        found = spec is not None and spec.origin is None and spec.submodule_search_locations is not None
        _flowdesk_namespaces[name] = found
    return found


def _flowdesk_distribution_map() -> dict[str, list[str]]:
    global _flowdesk_distributions
    if _flowdesk_distributions is None:
        # Read on first need only: listing every distribution's files takes ~80 ms.
        _flowdesk_distributions = _distribution_map(importlib.metadata.distributions())
    return _flowdesk_distributions


def _distribution_map(distributions) -> dict[str, list[str]]:
    """Top-level import name -> distribution names, like importlib.metadata's
    packages_distributions but over any set of distributions."""
    found: dict[str, list[str]] = {}
    for distribution in distributions:
        name = distribution.metadata["Name"]
        if not name:
            continue
        tops = (distribution.read_text("top_level.txt") or "").split()
        if not tops:
            tops = {(path.parts[0] if len(path.parts) > 1 else path.name.partition(".")[0])
                    for path in distribution.files or () if path.suffix in (".py", ".so", ".pyd") or len(path.parts) > 1}
            tops = [top for top in tops if top.isidentifier()]
        for top in tops:
            if name not in found.setdefault(top, []):
                found[top].append(name)
    return found
