"""What the frozen app carries beyond what PyInstaller finds by following imports, and what
it leaves out. Used by packaging/flowdesk.spec; kept apart so each choice can say why."""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import pkgutil
import sys
from pathlib import Path

# Standard-library parts that are not for flows and not used by Flowdesk: tests, IDLE, Tk
# (no Tk in the bundle), the old build tools.
_STDLIB_SKIP = {
    "test", "idlelib", "tkinter", "turtle", "turtledemo", "ensurepip", "lib2to3", "distutils",
    "pydoc_data", "antigravity", "this", "__phello__", "_pyrepl", "msilib", "venv",
}
_STDLIB_SKIP_PARTS = {"test", "tests", "idle_test"}

# Python modules Flowdesk never imports. The Qt ones keep their libraries out (QML/Quick
# alone is ~60 MB); debugpy and pip are copied as folders of source files instead (see
# debugpy_tree, pip_tree).
EXCLUDES = [
    "tkinter", "_tkinter", "debugpy", "pip",
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2",
    "PySide6.QtQuickTest", "PySide6.QtQuick3D", "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick", "PySide6.QtWebChannel",
    "PySide6.QtWebSockets", "PySide6.QtMultimedia", "PySide6.QtMultimediaWidgets",
    "PySide6.Qt3DCore", "PySide6.Qt3DRender", "PySide6.QtCharts", "PySide6.QtDataVisualization",
    "PySide6.QtDesigner", "PySide6.QtHelp", "PySide6.QtUiTools", "PySide6.QtTest", "PySide6.QtSql",
    "PySide6.QtPdf", "PySide6.QtPdfWidgets", "PySide6.QtOpenGLWidgets", "PySide6.QtNetwork",
    "PySide6.QtConcurrent",
    # development tools that share the build's environment
    "pytest", "_pytest", "pytestqt", "pytest_timeout", "PyInstaller", "build",
    "pyproject_hooks", "IPython", "numpy", "matplotlib",
    # The cluster extra (flowdesk[cluster]): engine_core.cluster and backends.dask are collected
    # with engine_core, and following their imports would add Dask, distributed and what only
    # they use (tornado, msgpack, zict...), past the bundle's 250 MB. The app runs on this
    # machine; `--cluster` in it says that the cluster needs a pip installation with the extra
    # (engine_core.cli_cluster.require_distributed).
    "distributed", "dask",
]

# Qt libraries and plugins that an import may still drag in but no widget of Flowdesk uses.
_UNUSED_BINARIES = [
    "*libQt6Qml*", "*libQt6Quick*", "*libQt6WebEngine*", "*libQt6Pdf*", "*libQt6Designer*",
    "*libQt6Multimedia*", "*libQt63D*", "*libQt6Labs*", "*libQt6Lottie*", "*libQt6Sql*",
    "*libQt6Test*", "*libQt6Help*", "*libQt6UiTools*", "*libQt6WaylandCompositor*",
    "*plugins/sqldrivers/*", "*plugins/qmltooling/*", "*plugins/designer/*",
    # GTK's platform theme pulls ~25 MB of GTK, Cairo and Pango; Flowdesk draws its own themes.
    "*plugins/platformthemes/libqgtk3*",
]

# Data files an import hook brings along that Flowdesk does not use: Qt's own translations
# (the IDE is in English and installs no translator) and jedi's Django stubs.
_UNUSED_DATAS = ["PySide6/Qt/translations/*", "jedi/third_party/django-stubs/*"]

# The C sources and other platforms' helpers of the packages shipped as files (debugpy, pip)
# are not needed to run them on this one.
_SOURCE_SKIP = (".pyc", ".pyo", ".c", ".cpp", ".h", ".pyx", ".pxd", ".dll", ".dylib", ".exe", ".pdb")


def stdlib_modules(stdlib: Path) -> list[str]:
    """Every standard-library module that can be imported here. Flows are plain Python
    loaded at run time: a flow may import any of the standard library (csv, smtplib,
    zipfile, ...), which PyInstaller cannot see by following Flowdesk's imports. debugpy's
    own imports are not followed either (it is copied as files), so this covers them too."""
    names: set[str] = set()
    for name in sorted(sys.stdlib_module_names):
        if name in _STDLIB_SKIP or name.startswith(("_test", "_xx", "xx")):
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        names.add(name)
        if spec.submodule_search_locations:
            for info in pkgutil.walk_packages(spec.submodule_search_locations, prefix=name + ".",
                                              onerror=lambda _name: None):
                if not _STDLIB_SKIP_PARTS & set(info.name.split(".")):
                    names.add(info.name)
    return sorted(names)


def resource_datas(root: Path) -> list[tuple[str, str]]:
    """The files the app reads at run time, at the same place relative to the packages as in
    the repository (``<bundle>/_internal/resources/...`` beside ``_internal/app``)."""
    datas = []
    for folder in ("resources/examples", "resources/app", "resources/icons"):
        if (root / folder).is_dir():
            datas.append((str(root / folder), folder))
    store = root / "engine_core" / "store"
    datas.append((str(store / "migrations"), "engine_core/store/migrations"))
    if (store / "alembic.ini").exists():
        datas.append((str(store / "alembic.ini"), "engine_core/store"))
    return [(src, dest) for src, dest in datas]


def debugpy_tree() -> list[tuple[str, str]]:
    """debugpy as plain files under ``_internal/debugpy``. The worker's ``debugpy.listen``
    starts the debug adapter as ``sys.executable <debugpy>/adapter ...``: that folder must
    exist on disk (frozen_main runs it), and debugpy loads its vendored pydevd from
    ``_vendored/`` by path, which PyInstaller's archive cannot serve."""
    return _source_tree("debugpy", _SOURCE_SKIP)


def pip_tree() -> list[tuple[str, str]]:
    """pip as plain files under ``_internal/pip``: the app installs a workspace's
    requirements.txt with ``flowdesk -m pip`` (engine_core.packages.pip_command), and the
    machine may have no Python or pip of its own. As files rather than in the archive, and
    kept out of the archive (EXCLUDES), because pip reads its vendored data by path (certifi's
    CA bundle through importlib.resources) and starts ``sys.executable <pip>/__pip-runner__.py``
    and pyproject_hooks' ``_in_process.py`` as scripts, which must exist on disk. Its imports
    of the standard library are covered by stdlib_modules. The Windows launchers of its
    vendored distlib (``*.exe``) are of no use on Linux."""
    return _source_tree("pip", _SOURCE_SKIP)


def _source_tree(package_name: str, skip: tuple[str, ...]) -> list[tuple[str, str]]:
    spec = importlib.util.find_spec(package_name)
    package = Path(spec.origin).parent
    datas = []
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        rel = Path(package_name) / Path(dirpath).relative_to(package)
        for filename in filenames:
            if filename.endswith(skip):
                continue
            datas.append((os.path.join(dirpath, filename), str(rel)))
    return datas


def bundled_distributions() -> list:
    """Flowdesk, every distribution it runs with, and pip: what the app carries, each with
    its installed metadata (the importlib.metadata.Distribution of the build's environment)."""
    from importlib import metadata

    from collect_licenses import shipped_distributions

    return [metadata.distribution("flowdesk"), *shipped_distributions()]


def distribution_metadata() -> list[tuple[str, str]]:
    """The installed metadata (*.dist-info) of Flowdesk and of every distribution it runs
    with: `flowdesk --version` and Help > About read versions from it, keyring and the
    connectors find their plugins through its entry points; pip's for `flowdesk -m pip`."""
    from PyInstaller.utils.hooks import copy_metadata

    datas = []
    for dist in bundled_distributions():
        datas += copy_metadata(dist.metadata["Name"])
    return datas


ENVIRONMENT_FILE = "flowdesk-environment.txt"


def environment_file(workpath: Path) -> list[tuple[str, str]]:
    """``flowdesk-environment.txt`` (one ``name==version`` a line, every bundled distribution)
    for the bundle's root (``sys._MEIPASS``). engine_core.packages reads it in the frozen app
    to pin Flowdesk's environment when pip installs a workspace's requirements (its
    constraints file): written here from the build's environment, it says exactly what went
    in, without scanning dist-info folders at run time."""
    lines = sorted({f"{dist.metadata['Name']}=={dist.version}" for dist in bundled_distributions()},
                   key=str.lower)
    path = Path(workpath) / ENVIRONMENT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return [(str(path), ".")]


def drop_unused_datas(datas):
    return [entry for entry in datas
            if not any(fnmatch.fnmatch(entry[0], pattern) for pattern in _UNUSED_DATAS)]


def drop_unused_binaries(binaries):
    """The binaries TOC without the Qt parts listed in _UNUSED_BINARIES, and without the
    system libraries that only those parts needed (PyInstaller lists dependencies as entries
    of their own: dropping the GTK theme plugin alone would leave GTK in the bundle)."""
    from PyInstaller.depend import bindepend

    def unused(dest: str) -> bool:
        return any(fnmatch.fnmatch(dest, pattern) for pattern in _UNUSED_BINARIES)

    by_name = {os.path.basename(entry[0]): entry for entry in binaries if "/" not in entry[0]}

    def closure(entries) -> set[str]:
        seen: set[str] = set()
        todo = [entry[1] for entry in entries]
        while todo:
            try:
                needed = bindepend.get_imports(todo.pop())
            except Exception:  # not an ELF file, or unreadable: nothing to follow
                continue
            for item in needed:  # (name, path) pairs in PyInstaller 6, names before
                name = item[0] if isinstance(item, tuple) else item
                if name in by_name and name not in seen:
                    seen.add(name)
                    todo.append(by_name[name][1])
        return seen

    dropped = [entry for entry in binaries if unused(entry[0])]
    kept = [entry for entry in binaries if not unused(entry[0])]
    only_for_dropped = closure(dropped) - closure(kept)
    return [entry for entry in kept if entry[0] not in only_for_dropped]
