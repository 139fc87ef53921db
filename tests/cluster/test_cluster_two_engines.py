"""Two engines share one PostgreSQL database and one cluster without conflict (issue 12, Tests):
an IDE-like engine in this process (following other engines' executions) and ``flowdesk run
--cluster`` in a process of its own run a tree each at the same time. Each execution is claimed
once, by its own engine's run; the IDE-like engine sees the CLI's executions as they happen
(events across machines, 0.5 s behind the database at the median)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest

from cluster_support import Recorder, rows

pytestmark = pytest.mark.timeout(150)

LAG_S = 0.5
"""The issue's bound on how far behind the database another engine's events arrive: the median
must keep it."""
LOOSE_LAG_S = 3.0
"""Single events only get this loose bound (the max is printed): on a loaded 2-CPU machine the
LocalCluster's workers, the CLI's engine, its NOTIFY thread, this engine's feed and dispatcher
all wait for a CPU, and one scheduler hiccup must not fail the run."""

SHARED = {
    "Shared": """
        def handler(system, this, inputs):
            who = inputs['who']
            parts = [this.flow('Part', name=f'{who} part {i}', i=i, gate=inputs['gate'], run=False)
                     for i in range(3)]
            for part in parts:
                part.run_async()
            this.wait_for(*parts)
            this.set_output(who=who, total=sum(part.get('output_value')['i'] for part in parts))
            return this.success(f'{who} done')
    """,
    # Holds until the test opens the gate: both trees are then running at once.
    "Part": """
        import os
        import time
        def handler(system, this, inputs):
            while not os.path.exists(inputs['gate']):
                time.sleep(0.02)
            this.log(f"part {inputs['i']} through")
            this.set_output(i=inputs['i'])
    """,
}


def test_an_ide_and_a_cli_engine_share_one_database(make_workspace, local_cluster, cluster_engine, pg_url, tmp_path):
    workspace = make_workspace(SHARED)
    gate = tmp_path / "gate"
    cluster = local_cluster(workers=2, threads=4)  # 6 parts waiting at the gate at once, 2 roots seceded
    ide = cluster_engine(workspace, cluster, pg_url, follow_others=True)
    seen = Recorder(ide)
    mine = ide.submit("Shared", {"who": "ide", "gate": str(gate)})

    cli = subprocess.Popen(
        [sys.executable, "-m", "engine_core.cli", "run", "Shared", "-w", str(workspace), "--db", pg_url,
         "--cluster", cluster.scheduler_address, "-i", "who=\"cli\"", "-i", f"gate={json.dumps(str(gate))}",
         "--json", "--timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The CLI's tree appears in the IDE's engine while both trees wait at the gate.
        theirs = seen.wait(lambda e: type(e).__name__ == "ExecutionCreated" and e.parent_id is None
                           and e.id != mine, timeout=90, what="the CLI engine's root in the IDE engine").id
        seen.wait(lambda e: type(e).__name__ == "ExecutionCreated" and e.root_id == theirs
                  and e.name == "cli part 2", timeout=60, what="the CLI tree's last part in the IDE engine")
        gate.touch()
        out, err = cli.communicate(timeout=120)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert cli.returncode == 0, err
    tree = json.loads(out)
    assert (tree["id"], tree["status"], tree["outputs"]) == (theirs, "success", {"who": "cli", "total": 3})
    record = ide.wait(mine, timeout=60)
    assert (record["status"], record["outputs"]) == ("success", {"who": "ide", "total": 3})

    # Each execution was claimed once, by a run of its own tree's engine.
    ours, cli_rows = rows(ide, mine), rows(ide, theirs)
    assert len(ours) == len(cli_rows) == 4
    for tree_rows in (ours, cli_rows):
        assert {r["attempt"] for r in tree_rows} == {1}
        assert len({r["engine_session_id"] for r in tree_rows}) == 1
        assert all(r["worker_address"] for r in tree_rows)
    assert ours[0]["engine_session_id"] != cli_rows[0]["engine_session_id"]

    # `flowdesk show` says where the CLI's root ran, as the IDE's details pane does.
    show = subprocess.run([sys.executable, "-m", "engine_core.cli", "show", str(theirs), "-w", str(workspace),
                           "--db", pg_url], capture_output=True, text=True, timeout=60)
    assert show.returncode == 0, show.stderr
    root = next(r for r in cli_rows if r["id"] == theirs)
    assert f"  worker:   {root['worker_host']} ({root['worker_address']}), attempt 1" in show.stdout.splitlines()

    # The IDE's engine saw the CLI's executions: created, each log line, each end, promptly.
    cli_ids = {r["id"] for r in cli_rows}
    created = {e.id for _, e in seen.of("ExecutionCreated") if e.id in cli_ids}
    assert created == cli_ids
    logs = sorted(e.text for _, e in seen.of("LogAppended") if e.id in cli_ids)
    assert logs == ["part 0 through", "part 1 through", "part 2 through"]
    ends = [(t, e) for t, e in seen.of("StatusChanged", status="success") if e.id in cli_ids]
    assert {e.id for _, e in ends} == cli_ids
    lags = [t - e.at for t, e in ends]
    print(f"other engine's events behind its commits: p50 {statistics.median(lags) * 1000:.0f} ms, "
          f"max {max(lags) * 1000:.0f} ms")
    assert statistics.median(lags) <= LAG_S and max(lags) <= LOOSE_LAG_S, lags
    seen.close()
