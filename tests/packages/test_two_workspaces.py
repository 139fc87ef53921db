"""Two workspaces with different versions of the same package, their flows running at the same
time in two engines: each imports its own workspace's version."""

from __future__ import annotations

import shutil

from engine_core import Engine, EngineOptions, packages
from support import EXAMPLES, FlowWorkspace

from .conftest import write_requirements

FLOW = """
import time
import greetlib

def handler(system, this, inputs):
    started = time.time()
    time.sleep(1.0)
    this.set_output(started=started, ended=time.time())
    return this.success(greetlib.VERSION)
"""


def test_two_engines_each_see_their_workspaces_version_at_the_same_time(tmp_path, wheels):
    spaces = []
    for version in ("1.0", "2.0"):
        root = tmp_path / f"ws {version}"
        shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".flowdesk"))
        space = FlowWorkspace(root)
        space.write_flow("Greet", FLOW)
        write_requirements(root, wheels, f"greetlib=={version}")
        packages.install(root)
        spaces.append(space)

    options = EngineOptions(warm_workers=1)
    with Engine(spaces[0].root, options=options) as one, Engine(spaces[1].root, options=options) as two:
        ids = [(engine, engine.submit("Greet")) for engine in (one, two, one, two)]
        records = [engine.wait(execution_id, 60) for engine, execution_id in ids]

    assert [r["message"] for r in records] == ["1.0", "2.0", "1.0", "2.0"]
    first, second = records[0]["outputs"], records[1]["outputs"]
    assert first["started"] < second["ended"] and second["started"] < first["ended"]  # ran side by side
