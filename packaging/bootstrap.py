#!/usr/bin/env python3
"""Set up Flowdesk's virtual environment and run it: the two commands of the README.

    python3 packaging/bootstrap.py ide     # set up, then open the IDE on the example workspace
    python3 packaging/bootstrap.py test    # set up, then run the whole test suite
    python3 packaging/bootstrap.py bench NAME   # set up, then run tests/bench/bench_NAME.py
    python3 packaging/bootstrap.py bundle  # set up, then build the one-folder app dist/flowdesk/

Needs only python3 (3.11+). The environment lives in .venv/ and is reinstalled when
pyproject.toml changes. Standard library only: this runs before anything is installed."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".flowdesk-installed"
EXAMPLES = ROOT / "resources" / "examples"
USER_EXAMPLES = Path(os.environ.get("FLOWDESK_EXAMPLES", Path.home() / "flowdesk-examples"))


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment() -> Path:
    if sys.version_info < (3, 11):
        sys.exit(f"Flowdesk needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    python = venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return python
    if not python.exists():
        print(f"bootstrap: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("bootstrap: installing Flowdesk and its dependencies (first time only)", flush=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--quiet", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)
    return python


def compile_sources(python: Path) -> None:
    """Byte-compile Flowdesk's own packages (the editable install leaves them as source). With
    PYTHONDONTWRITEBYTECODE set, as on some machines, Python never writes these itself and
    compiles every module again at each start: 0.3 s of the IDE's start-up, measured. Quick
    when nothing changed."""
    subprocess.run([str(python), "-m", "compileall", "-q", "app", "engine_core", "flow_api"], cwd=ROOT,
                   check=False, stdout=subprocess.DEVNULL)


def example_workspace() -> Path:
    """A copy of the example workspace the user may edit freely (the repository's stays clean)."""
    if not USER_EXAMPLES.exists():
        shutil.copytree(EXAMPLES, USER_EXAMPLES, ignore=shutil.ignore_patterns(".flowdesk"))
        print(f"bootstrap: example workspace copied to {USER_EXAMPLES}", flush=True)
    return USER_EXAMPLES


def bundle(python: Path) -> int:
    """Build the self-contained app dist/flowdesk/ (run dist/flowdesk/flowdesk) with PyInstaller
    and packaging/flowdesk.spec. PyInstaller comes from the "bundle" extra of pyproject.toml."""
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    if subprocess.call([str(python), "-c", "import PyInstaller"], stderr=subprocess.DEVNULL) != 0:
        print("bootstrap: installing PyInstaller (first bundle only)", flush=True)
        subprocess.run([*pip, "install", "--quiet", "-e", f"{ROOT}[test,bundle]"], check=True)
    print("bootstrap: building dist/flowdesk/ (about two minutes)", flush=True)
    code = subprocess.call([str(python), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                            "--distpath", str(ROOT / "dist"), "--workpath", str(ROOT / "build"),
                            str(ROOT / "packaging" / "flowdesk.spec")], cwd=ROOT)
    if code:
        return code
    # debugpy and pip are shipped as source (see packaging/bundle_contents.py); compiled now,
    # the first debug session or package install of the app does not spend a second compiling.
    internal = ROOT / "dist" / "flowdesk" / "_internal"
    subprocess.run([str(python), "-m", "compileall", "-q", str(internal / "debugpy"), str(internal / "pip")],
                   check=False, stdout=subprocess.DEVNULL)
    subprocess.run([str(python), str(ROOT / "packaging" / "collect_licenses.py"), "--bundle", str(ROOT / "dist" / "flowdesk")],
                   check=False)
    shutil.copy2(ROOT / "packaging" / "install-desktop-entry", ROOT / "dist" / "flowdesk" / "install-desktop-entry")
    # Each file once: PyInstaller links some libraries by symlink.
    size = sum(f.lstat().st_size for f in (ROOT / "dist" / "flowdesk").rglob("*") if f.is_file() and not f.is_symlink())
    print(f"bootstrap: built {ROOT / 'dist' / 'flowdesk' / 'flowdesk'} ({size / 1e6:.0f} MB)", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("ide", "test", "bench", "bundle"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_environment()
    compile_sources(python)
    env = dict(os.environ)
    if command == "test":
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        return subprocess.call([str(python), "-m", "pytest", *rest], cwd=ROOT, env=env)
    if command == "bundle":
        return bundle(python)
    if command == "bench":
        if not rest:
            print("usage: bootstrap.py bench NAME  (runs tests/bench/bench_NAME.py)")
            return 2
        return subprocess.call([str(python), str(ROOT / "tests" / "bench" / f"bench_{rest[0]}.py"), *rest[1:]], cwd=ROOT, env=env)
    workspace = example_workspace()
    return subprocess.call([str(python), "-m", "app", str(workspace), *rest], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
