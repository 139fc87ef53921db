"""Two workspaces on one Dask cluster do not share flow processes: a flow process is reused
across executions (module globals, ``os.environ`` and ``sys.modules`` carry over, as they do
between a local engine's runs of one workspace), so another workspace's flow must never see
what a flow of this one left behind."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(180)

LEAVE = {
    "Leave": """
        import os, sys
        def handler(system, this):
            os.environ['FLOWDESK_LEFT_BY'] = 'first workspace'
            sys.modules['left_behind'] = sys
            this.save(output_value={'pid': os.getpid()})
            return this.success('left')
    """,
}
LOOK = {
    "Look": """
        import os, sys
        def handler(system, this):
            this.save(output_value={'pid': os.getpid(), 'env': os.environ.get('FLOWDESK_LEFT_BY'),
                                    'module': 'left_behind' in sys.modules})
            return this.success('looked')
    """,
}


def test_a_workspace_never_gets_another_workspaces_flow_process(make_workspace, local_cluster, cluster_engine,
                                                                 tmp_path):
    cluster = local_cluster(workers=1, threads=1)  # one worker: every run could take the same process
    first = cluster_engine(make_workspace(LEAVE, name="first"), cluster, f"sqlite:///{tmp_path / 'first.db'}")
    second = cluster_engine(make_workspace(LOOK, name="second"), cluster, f"sqlite:///{tmp_path / 'second.db'}")
    left_by = set()
    for _ in range(3):
        record = first.run("Leave", timeout=60)
        assert record["status"] == "success", record
        left_by.add(record["outputs"]["pid"])
    for _ in range(3):
        record = second.run("Look", timeout=60)
        assert record["status"] == "success", record
        looked = record["outputs"]
        assert (looked["env"], looked["module"]) == (None, False), looked
        assert looked["pid"] not in left_by
