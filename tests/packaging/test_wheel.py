"""`python -m build` makes a wheel that installs into a fresh venv with the versions known
to work (packaging/constraints.txt) and runs there without this checkout. Downloads come from
PyPI or pip's cache (about a minute when cached)."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from packaging_support import ROOT, clean_env

pytestmark = pytest.mark.packaging

HELLO = """\
import flow_api

def handler(system, this, inputs):
    return this.success(f"hello {inputs.get('name', 'world')}")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("build", reason="`build` is in the test extras: pip install -e .[test]")
    out = tmp_path_factory.mktemp("wheel")
    # The wheel is built from the sdist (build's default), as a release is: never from the
    # checkout's build/ folder, which keeps files the checkout no longer has.
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (found,) = out.glob("flowdesk-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; returns its bin/ folder."""
    target = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    result = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
                             "--disable-pip-version-check", str(wheel), "-c", str(ROOT / "packaging" / "constraints.txt")],
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return target / "bin"


def test_the_wheel_carries_what_the_app_reads_at_run_time(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "engine_core/store/migrations/env.py" in names
    assert any(n.startswith("engine_core/store/migrations/versions/0001") for n in names)
    assert "flow_api/py.typed" in names
    data = "flowdesk-0.1.0.data/data/share/flowdesk/"  # installed to <prefix>/share/flowdesk/
    assert data + "examples/flows/Main Process.py" in names
    assert data + "app/licenses/INDEX.txt" in names
    assert data + "app/flowdesk.svg" in names
    assert data + "icons/run.svg" in names
    assert not any(n.startswith("resources/") for n in names)  # no top-level "resources" package


def test_version_and_a_headless_run_from_the_installed_wheel(installed, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    version = subprocess.run([str(installed / "flowdesk"), "--version"], env=env, cwd=home, capture_output=True,
                             text=True, timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("flowdesk 0.1.0")

    workspace = tmp_path / "ws"
    (workspace / "flows").mkdir(parents=True)
    (workspace / "flows" / "Hello.py").write_text(HELLO)
    run = subprocess.run([str(installed / "flowdesk"), "run", "Hello", "-w", str(workspace), "--input", 'name="wheel"'],
                         env=env, cwd=home, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "✔ #1 Hello: success — hello wheel" in run.stdout


def test_the_installed_app_finds_its_resources_outside_the_checkout(installed, tmp_path):
    code = ("import app, app.icons; from pathlib import Path; r = app.icons.resources_dir();"
            "print(app.__file__); print((r / 'examples' / 'flows' / 'Main Process.py').is_file(),"
            " (r / 'app' / 'licenses' / 'INDEX.txt').is_file())")
    result = subprocess.run([str(installed / "python"), "-c", code], env=clean_env(tmp_path), cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    location, found = result.stdout.splitlines()
    assert "site-packages" in location and str(ROOT) not in location
    assert found == "True True"
