"""Install a workspace's packages with real pip from local wheels and use them from flows:
through the engine, through `flowdesk run`, after an upgrade by editing requirements.txt."""

from __future__ import annotations

import json

from engine_core import Engine, EngineOptions, packages
from support import run_cli

from .conftest import FLOW_USING, write_requirements


def test_installed_package_is_imported_by_a_flow_and_an_edit_upgrades_it_without_a_restart(workspace, wheels):
    workspace.write_flow("Greet", FLOW_USING)
    write_requirements(workspace.root, wheels, "greetlib==1.0")
    assert packages.needs_install(workspace.root)
    lines: list[str] = []

    result = packages.install(workspace.root, on_line=lines.append)

    assert result.installed == {"greetlib": "1.0", "greet-helper": "1.1"}
    assert any("Successfully installed" in line for line in lines)  # progress as pip prints it
    assert result.set_dir == packages.site_dir(workspace.root)
    assert result.set_dir.parent == workspace.root / ".flowdesk" / "packages" / "sets"
    assert "Successfully installed" in (workspace.root / ".flowdesk/packages/install.log").read_text()
    assert not packages.needs_install(workspace.root)
    with Engine(workspace.root, options=EngineOptions(warm_workers=2)) as engine:
        assert engine.run("Greet", timeout=30)["message"] == "1.0"

        write_requirements(workspace.root, wheels, "greetlib==2.0")
        assert packages.status(workspace.root).missing == ["greetlib"]  # outdated: 1.0 installed
        packages.install(workspace.root)

        # the warm workers (started with 1.0 imported nowhere yet, but 1.0 on their path) are replaced
        assert engine.run("Greet", timeout=30)["message"] == "2.0"
        assert engine.run("Greet", timeout=30)["message"] == "2.0"
    current = json.loads((workspace.root / ".flowdesk/packages/current.json").read_text())
    assert current["installed"]["greetlib"] == "2.0"


def test_old_sets_are_removed_keeping_the_previous_one(workspace, wheels):
    sets = workspace.root / ".flowdesk" / "packages" / "sets"
    made = []
    for version in ("1.0", "2.0", "1.0"):
        write_requirements(workspace.root, wheels, f"greetlib=={version}", f"# {len(made)}")
        made.append(packages.install(workspace.root).set_dir)
    assert sorted(p.name for p in sets.iterdir()) == sorted([made[1].name, made[2].name])


def test_cli_run_installs_what_is_missing_first_and_no_install_refuses(workspace, wheels):
    workspace.write_flow("Greet", FLOW_USING)
    write_requirements(workspace.root, wheels, "greetlib==1.0")

    refused = run_cli("run", "Greet", "-w", str(workspace.root), "--no-install")
    assert refused.returncode == 2
    assert "not installed: greetlib" in refused.stderr
    assert "flowdesk packages install -w" in refused.stderr
    assert packages.site_dir(workspace.root) is None

    ran = run_cli("run", "Greet", "-w", str(workspace.root))
    assert ran.returncode == 0, ran.stderr
    assert "installing the workspace's packages (requirements.txt) first" in ran.stderr
    assert "Successfully installed" in ran.stderr
    assert "success — 1.0" in ran.stdout

    again = run_cli("run", "Greet", "-w", str(workspace.root), "--no-install")
    assert again.returncode == 0 and "success — 1.0" in again.stdout
    assert "installing" not in again.stderr


def test_cli_debug_refuses_with_no_install_like_run(workspace, wheels):
    # `flowdesk debug` runs what `flowdesk run` would: the same packages, the same refusal.
    workspace.write_flow("Greet", FLOW_USING)
    write_requirements(workspace.root, wheels, "greetlib==1.0")
    refused = run_cli("debug", "Greet", "-w", str(workspace.root), "--no-install")
    assert refused.returncode == 2
    assert "not installed: greetlib" in refused.stderr
    assert packages.site_dir(workspace.root) is None


def test_cli_packages_install_and_list(workspace, wheels):
    write_requirements(workspace.root, wheels, "greetlib>=1", "jedi", "sqlalchemy<2")
    listed = run_cli("packages", "list", "-w", str(workspace.root))
    assert listed.returncode == 0
    rows = {line.split()[0]: line.split()[1:] for line in listed.stdout.splitlines()[1:4]}
    assert rows["greetlib"] == [">=1", "-", "missing"]
    assert rows["jedi"][-1] == "flowdesk"
    assert rows["sqlalchemy"][-1] == "conflict"
    assert "sqlalchemy<2 conflicts with Flowdesk's SQLAlchemy" in listed.stdout

    failed = run_cli("packages", "install", "-w", str(workspace.root))
    assert failed.returncode == 1
    assert "requirements.txt line 5: sqlalchemy<2 conflicts with Flowdesk's SQLAlchemy 2." in failed.stderr

    write_requirements(workspace.root, wheels, "greetlib>=1", "jedi")
    installed = run_cli("packages", "install", "-w", str(workspace.root))
    assert installed.returncode == 0, installed.stderr
    assert "Successfully installed" in installed.stderr  # pip's progress goes to stderr
    code = run_cli("packages", "list", "-w", str(workspace.root), "--json")
    data = json.loads(code.stdout)
    assert data["up_to_date"] is True and data["missing"] == []
    assert {r["name"]: (r["installed"], r["state"]) for r in data["rows"]}["greetlib"] == ("2.0", "installed")


def test_requirements_without_a_file_cost_a_stat_and_import_nothing_heavy(workspace):
    # `flowdesk run` checks this on every start: no pip, no packaging, no installer
    code = ("import sys, engine_core.packages as p\n"
            f"assert not p.needs_install({str(workspace.root)!r}) and p.site_dir({str(workspace.root)!r}) is None\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('pip', 'packaging') "
            "or m.startswith('engine_core.packages.')]\n"
            "print(heavy)\n")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_add_requirement_appends_once(workspace):
    path = workspace.root / "requirements.txt"
    path.write_text("# ours\nPyYAML>=6", encoding="utf-8")
    packages.add_requirement(workspace.root, "greetlib")
    packages.add_requirement(workspace.root, "pyyaml")
    packages.add_requirement(workspace.root, "Greetlib==2.0")
    assert path.read_text() == "# ours\nPyYAML>=6\ngreetlib\n"
    reqs = packages.read_requirements(workspace.root)
    assert [(e.line, e.name, e.specifier) for e in reqs.entries] == [(2, "PyYAML", ">=6"), (3, "greetlib", "")]
