"""Helpers of the packaging tests and tests/bench/bench_packaging.py: a clean environment for
the programs under test, building the PyInstaller bundle, the processes it left running."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
DRIVERS = Path(__file__).resolve().parent / "frozen_drivers"


def clean_env(home: Path, **extra: str) -> dict:
    """What a user's shell would pass: no PYTHONPATH or venv leaking in from the test run,
    a home of its own (the IDE's settings, the first start's example copy)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "VIRTUAL_ENV", "PYTEST", "COV_")) and key != "FLOWDESK_DB"}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               FLOWDESK_EXAMPLES=str(home / "flowdesk-examples"), QT_QPA_PLATFORM="offscreen", LANG="C.UTF-8")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env.update(extra)
    return env


def example_workspace(tmp_path: Path) -> Path:
    workspace = tmp_path / "examples"
    shutil.copytree(EXAMPLES, workspace, ignore=shutil.ignore_patterns(".flowdesk"))
    return workspace


def processes_running_from(folder: Path) -> list[int]:
    """Pids of live processes whose executable lies in ``folder`` (zombies have none)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        if exe.startswith(str(folder) + os.sep):
            pids.append(int(entry.name))
    return pids


def wait_no_processes_from(folder: Path, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := processes_running_from(folder)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def bundle_size_mb(bundle: Path) -> float:
    """The files' sizes, each counted once (PyInstaller links some libraries by symlink)."""
    total = 0
    for dirpath, _dirs, files in os.walk(bundle):
        for name in files:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                total += os.stat(path).st_size
    return total / 1e6


def build_bundle(out: Path) -> Path:
    """Build the app from this checkout into ``out``/dist/flowdesk as `python3
    packaging/bootstrap.py bundle` builds it (same spec, the shipped sources compiled, then the
    system libraries' notices);
    returns the executable."""
    result = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", str(out / "dist"),
         "--workpath", str(out / "build"), str(ROOT / "packaging" / "flowdesk.spec")],
        cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    bundle = out / "dist" / "flowdesk"
    # As bootstrap.py does: debugpy and pip ship as source, compiled after the build.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(bundle / "_internal" / "debugpy"),
                    str(bundle / "_internal" / "pip")], check=False, capture_output=True)
    subprocess.run([sys.executable, str(ROOT / "packaging" / "collect_licenses.py"), "--bundle", str(bundle)],
                   check=True, capture_output=True)
    return bundle / "flowdesk"


@pytest.fixture(scope="session")
def frozen_app(tmp_path_factory) -> Path:
    """The app built from this checkout into a temporary folder. Set
    FLOWDESK_TEST_BUNDLE=dist/flowdesk to test an existing bundle instead (quicker reruns)."""
    given = os.environ.get("FLOWDESK_TEST_BUNDLE")
    if given:
        return Path(given).resolve() / "flowdesk"
    pytest.importorskip("PyInstaller", reason="PyInstaller is in the test extras: pip install -e .[test]")
    return build_bundle(tmp_path_factory.mktemp("bundle"))
