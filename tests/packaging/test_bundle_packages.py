"""A workspace's third-party packages (requirements.txt) from the frozen app, on a machine with
no Python or pip: the bundle's own pip (``flowdesk -m pip``) installs them and its workers
import them. Every command runs with an environment as bare as `env -i` (PATH naming only a
folder of decoy python/pip programs that record being called, no pip configuration) and,
where strace is installed, under strace: the only program executed is the bundle's.
Wheels and the source distribution are built in the test; no network (`--no-index`)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from packages.wheels import build_wheel
from packaging_support import wait_no_processes_from

pytestmark = pytest.mark.packaging

GREET_FLOW = """\
import greeting_lib

def handler(system, this, inputs):
    this.set_output(version=greeting_lib.VERSION, text=greeting_lib.greet('frozen'), where=greeting_lib.__file__)
    return this.success('greeted')
"""

DECOYS = ("python", "python3", "python3.11", "pip", "pip3", "uv")


@pytest.fixture
def bare(tmp_path) -> dict:
    """The environment of a machine without Python: home, display-less Qt, and PATH naming
    only decoys that leave a mark when anything runs them."""
    home, decoys = tmp_path / "home", tmp_path / "decoys"
    home.mkdir()
    decoys.mkdir()
    marks = tmp_path / "decoy-calls.txt"
    for name in DECOYS:
        decoy = decoys / name
        decoy.write_text(f'#!/bin/sh\necho "{name} $*" >> "{marks}"\nexit 127\n')
        decoy.chmod(0o755)
    return {"HOME": str(home), "PATH": str(decoys), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
            "FLOWDESK_EXAMPLES": str(home / "flowdesk-examples"),
            # the machine's pip.conf (an index, find-links) is not the user's: none is used
            "PIP_CONFIG_FILE": os.devnull, "_MARKS": str(marks),
            # each command in a process of its own: a warm process (engine_core/warm) left behind
            # would outlive the test; the frozen app's has its own test in test_bundle.py
            "FLOWDESK_WARM": "0"}


def run_bare(app: Path, env: dict, *args, trace: Path | None = None, timeout: float = 180):
    """Run the frozen app in ``env``; under strace (every execve into ``trace``) if present."""
    command = [str(app), *map(str, args)]
    strace = shutil.which("strace")
    if trace is not None and strace:
        command = [strace, "-f", "-qq", "-e", "trace=execve", "-o", str(trace), *command]
    env = {k: v for k, v in env.items() if not k.startswith("_")}
    return subprocess.run(command, env=env, cwd=env["HOME"], capture_output=True, text=True, timeout=timeout)


def assert_only_the_bundle_ran(app: Path, env: dict, trace: Path) -> None:
    marks = Path(env["_MARKS"])
    assert not marks.exists(), f"a python or pip from PATH was called: {marks.read_text()}"
    if not trace.exists():
        return  # no strace on this machine: the decoys are the proof
    calls = re.findall(r'execve\("([^"]+)".*= (0|-1)', trace.read_text())
    executed = {path for path, result in calls if result == "0"}
    assert executed == {str(app)}, f"programs executed besides the bundle's: {executed - {str(app)}}"
    # What was looked for and not found: pip asks for `uname` and `lsb_release` (for its
    # user agent) and does without; no python or pip was even looked for.
    tried = {Path(path).name for path, result in calls if result == "-1"}
    assert not {name for name in tried if name.startswith(("python", "pip", "uv"))}, tried


def sdist(out: Path, name: str, version: str) -> Path:
    """A source distribution (pyproject.toml + setuptools) of a one-module package."""
    path = out / f"{name}-{version}.tar.gz"
    files = {
        "pyproject.toml": f'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
                          f'[project]\nname = "{name}"\nversion = "{version}"\n',
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}.py": "VALUE = 1\n",
    }
    with tarfile.open(path, "w:gz") as tar:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-{version}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def greeting_wheel(folder: Path, version: str) -> Path:
    return build_wheel(folder, "greeting-lib", version, modules={
        "greeting_lib/__init__.py": f"VERSION = {version!r}\n\ndef greet(who):\n    return f'hello {{who}} from {version}'\n"})


@pytest.fixture
def workspace(tmp_path) -> Path:
    root = tmp_path / "ws"
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "Greet.py").write_text(GREET_FLOW)
    greeting_wheel(root / "wheels", "1.0")
    greeting_wheel(root / "wheels", "2.0")
    # A relative --find-links, as a workspace carried by Git would have it.
    (root / "requirements.txt").write_text("--no-index\n--find-links wheels\ngreeting-lib==1.0\n")
    return root


def test_the_bundle_carries_pip_and_the_list_of_its_distributions(frozen_app, bare, tmp_path):
    internal = frozen_app.parent / "_internal"
    listed = dict(line.split("==") for line in (internal / "flowdesk-environment.txt").read_text().splitlines())
    from importlib.metadata import version
    for name in ("flowdesk", "pip", "SQLAlchemy", "PySide6_Essentials", "jedi", "debugpy"):
        assert listed[name] == version(name), name
    # pip's notice, with the licences of what it vendors, is among the app's.
    licences = internal / "resources" / "app" / "licenses"
    assert f"pip {version('pip')}: MIT" in (licences / "INDEX.txt").read_text()
    assert "_vendor/requests/LICENSE" in (licences / "pip.txt").read_text()

    trace = tmp_path / "trace.txt"
    result = run_bare(frozen_app, bare, "-m", "pip", "--version", trace=trace)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"pip {version('pip')} from {internal / 'pip'}")

    # A wheel and the dependency it declares, resolved and installed by the bundled pip.
    links = tmp_path / "links"
    build_wheel(links, "tiny-base", "1.3")
    build_wheel(links, "tiny-app", "0.1", modules={"tiny_app.py": "import tiny_base\n"}, requires=["tiny-base>=1"])
    target = tmp_path / "target"
    result = run_bare(frozen_app, bare, "-m", "pip", "install", "--target", target, "--no-index", "--find-links",
                      links, "tiny-app", trace=trace)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully installed tiny-app-0.1 tiny-base-1.3" in result.stdout
    assert (target / "tiny_app.py").is_file() and (target / "tiny_base.py").is_file()
    assert_only_the_bundle_ran(frozen_app, bare, trace)


def test_packages_install_then_a_flow_imports_them_with_no_python_on_the_machine(frozen_app, bare, workspace,
                                                                                  tmp_path):
    trace = tmp_path / "trace.txt"
    refused = run_bare(frozen_app, bare, "run", "Greet", "-w", workspace, "--no-install")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "not installed: greeting-lib" in refused.stderr
    assert f"flowdesk packages install -w {workspace}" in refused.stderr

    installed = run_bare(frozen_app, bare, "packages", "install", "-w", workspace, trace=trace)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "Successfully installed greeting-lib-1.0" in installed.stderr  # pip's progress, as it came
    listing = run_bare(frozen_app, bare, "packages", "list", "-w", workspace, "--json")
    rows = json.loads(listing.stdout)["rows"]
    assert [(r["name"], r["installed"], r["state"]) for r in rows] == [("greeting-lib", "1.0", "installed")]

    ran = run_bare(frozen_app, bare, "run", "Greet", "-w", workspace, "--json", trace=trace)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    outputs = json.loads(ran.stdout[ran.stdout.index("{"):])["outputs"]
    assert outputs["version"] == "1.0" and outputs["text"] == "hello frozen from 1.0"
    assert Path(outputs["where"]).is_relative_to(workspace / ".flowdesk" / "packages" / "sets")
    assert_only_the_bundle_ran(frozen_app, bare, trace)
    assert not wait_no_processes_from(frozen_app.parent), "no worker or forkserver left behind"


def test_flowdesk_run_installs_a_changed_requirement_first(frozen_app, bare, workspace, tmp_path):
    trace = tmp_path / "trace.txt"
    first = run_bare(frozen_app, bare, "run", "Greet", "-w", workspace, "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "installing the workspace's packages (requirements.txt) first" in first.stderr
    (workspace / "requirements.txt").write_text("--no-index\n--find-links wheels\ngreeting-lib==2.0\n")
    upgraded = run_bare(frozen_app, bare, "run", "Greet", "-w", workspace, "--json", trace=trace)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "installing the workspace's packages (requirements.txt) first" in upgraded.stderr
    assert json.loads(upgraded.stdout[upgraded.stdout.index("{"):])["outputs"]["version"] == "2.0"
    assert_only_the_bundle_ran(frozen_app, bare, trace)
    assert not wait_no_processes_from(frozen_app.parent)


def test_a_source_only_requirement_is_refused_clearly_and_the_previous_packages_stay(frozen_app, bare, workspace,
                                                                                       tmp_path):
    trace = tmp_path / "trace.txt"
    assert run_bare(frozen_app, bare, "packages", "install", "-w", workspace).returncode == 0
    sdist(workspace / "wheels", "sourceonly", "1.0")
    (workspace / "requirements.txt").write_text("--no-index\n--find-links wheels\ngreeting-lib==2.0\nsourceonly\n")
    failed = run_bare(frozen_app, bare, "packages", "install", "-w", workspace, trace=trace)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    message = failed.stderr.strip().splitlines()[-1]
    assert message.startswith("flowdesk: could not install"), message
    assert "'sourceonly'" in message or "install sourceonly" in message, message
    assert "the Flowdesk app installs wheels only and cannot build a package from source" in message
    assert_only_the_bundle_ran(frozen_app, bare, trace)

    # Nothing half-installed is used: the set installed before is still the one in use.
    listing = run_bare(frozen_app, bare, "packages", "list", "-w", workspace, "--json")
    installed = {row["name"]: row["installed"] for row in json.loads(listing.stdout)["rows"]}
    assert installed == {"greeting-lib": "1.0", "sourceonly": None}


def test_a_requirement_conflicting_with_the_bundles_own_distribution_is_named(frozen_app, bare, workspace):
    """Flowdesk's environment in the frozen app comes from flowdesk-environment.txt."""
    from importlib.metadata import version
    (workspace / "requirements.txt").write_text("--no-index\n--find-links wheels\nsqlalchemy<2\n")
    failed = run_bare(frozen_app, bare, "packages", "install", "-w", workspace)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert (f"requirements.txt line 3: sqlalchemy<2 conflicts with Flowdesk's SQLAlchemy {version('SQLAlchemy')}"
            in failed.stderr)
