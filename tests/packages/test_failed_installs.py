"""A failed install names the package and pip's reason, and changes nothing: current.json stays
as it was and flows keep importing the packages installed before."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from engine_core import Engine, EngineOptions, packages

from .conftest import FLOW_USING, write_requirements


@pytest.fixture
def installed_v1(workspace, wheels):
    workspace.write_flow("Greet", FLOW_USING)
    write_requirements(workspace.root, wheels, "greetlib==1.0")
    packages.install(workspace.root)
    current = workspace.root / ".flowdesk" / "packages" / "current.json"
    return current, current.read_bytes()


def _runs_v1(workspace) -> None:
    with Engine(workspace.root, options=EngineOptions(warm_workers=0)) as engine:
        record = engine.run("Greet", timeout=30)
    assert (record["status"], record["message"]) == ("success", "1.0")


def test_broken_requirement_names_the_package_and_pips_reason(workspace, wheels, installed_v1):
    current, before = installed_v1
    write_requirements(workspace.root, wheels, "greetlib==2.0", "nosuchpkg==9")

    with pytest.raises(packages.PackagesError) as caught:
        packages.install(workspace.root)

    assert str(caught.value) == (
        "could not install nosuchpkg==9: no matching distribution (pip: ERROR: Could not find a version that "
        "satisfies the requirement nosuchpkg==9 (from versions: none)); fix requirements.txt line 4 and install again")
    assert current.read_bytes() == before
    assert packages.needs_install(workspace.root)
    assert len(list((workspace.root / ".flowdesk/packages/sets").iterdir())) == 1  # the failed set is gone
    _runs_v1(workspace)


def test_direct_conflict_with_flowdesk_names_both_versions(workspace, wheels, installed_v1):
    from importlib.metadata import version

    current, before = installed_v1
    write_requirements(workspace.root, wheels, "greetlib==2.0", "sqlalchemy<2")

    with pytest.raises(packages.PackagesError) as caught:
        packages.install(workspace.root)

    assert str(caught.value) == (
        f"requirements.txt line 4: sqlalchemy<2 conflicts with Flowdesk's SQLAlchemy {version('SQLAlchemy')} "
        "(Flowdesk needs this version); remove or relax the requirement")
    assert current.read_bytes() == before
    row = next(r for r in packages.status(workspace.root).rows if r.name == "sqlalchemy")
    assert (row.state, row.installed) == ("conflict", version("SQLAlchemy"))
    _runs_v1(workspace)


def test_dependency_conflicting_with_flowdesk_names_both_versions(workspace, wheels, installed_v1):
    from importlib.metadata import version

    current, before = installed_v1
    write_requirements(workspace.root, wheels, "greetlib==2.0", "oldjedi-user")

    with pytest.raises(packages.PackagesError) as caught:
        packages.install(workspace.root)

    message = str(caught.value)
    assert message.startswith("could not install oldjedi-user: oldjedi-user 1.0 depends on jedi<0.10, which "
                              f"conflicts with Flowdesk's jedi {version('jedi')} (Flowdesk needs this version)")
    assert "requirements.txt line 4" in message
    assert current.read_bytes() == before
    _runs_v1(workspace)


def test_pip_failing_after_a_partial_install_leaves_nothing_used(workspace, wheels, installed_v1):
    current, before = installed_v1
    write_requirements(workspace.root, wheels, "breaks-midway")

    with pytest.raises(packages.PackagesError) as caught:
        packages.install(workspace.root)

    assert "could not install breaks-midway" in str(caught.value)
    assert "escaped.py" in str(caught.value)  # pip's reason
    assert current.read_bytes() == before
    assert not (workspace.root / ".flowdesk" / "escaped.py").exists()
    _runs_v1(workspace)


def _pip_children() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid() and b"pip" in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds pip's process through /proc")
def test_pip_killed_mid_install_leaves_nothing_used(workspace, wheels, installed_v1):
    current, before = installed_v1
    write_requirements(workspace.root, wheels, "greetlib==2.0")
    killed = threading.Event()

    def on_line(line: str) -> None:
        if "Processing" in line and not killed.is_set():  # pip has started installing
            for pid in _pip_children():
                os.kill(pid, signal.SIGKILL)
            killed.set()

    with pytest.raises(packages.PackagesError) as caught:
        packages.install(workspace.root, on_line=on_line)

    assert killed.is_set()
    assert "pip failed (exit code -9)" in str(caught.value)
    assert current.read_bytes() == before
    _runs_v1(workspace)
