"""Faults at the Dask backend's edges (review of issue 12: H1, H2, H3): what a stranger sends to
the relay port, a dispatcher round that rolls back after a claim, a dispatcher thread that
stalls longer than ``lost_after_s``, a Dask worker that stops (SIGSTOP) mid-run, and a
supervisor that cannot reach the engine's relay. Real LocalClusters, real sockets, PostgreSQL."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time

import pytest

from cluster_support import Recorder, rows
from support import process_alive, wait_until
from engine_core.cluster import relay

pytestmark = pytest.mark.timeout(150)

QUICK = """
    def handler(system, this):
        return this.success('ok')
"""
SLEEPER = """
    import time
    def handler(system, this, inputs):
        time.sleep(inputs['s'])
        return this.success('slept')
"""
# Durable (resumed elsewhere when its worker is lost); writes its pid, then holds its Dask slot
# in a busy wait (no flow API call) until the test creates the gate. No child before it: a
# blocked run's task secedes, and the scheduler would count the stopped worker's slot free.
GATED = """
    import os
    import time
    def handler(system, this, inputs):
        with open(inputs['pids'], 'a') as f:
            f.write(f'{os.getpid()}\\n')
        this.log('waiting for the gate')
        while not os.path.exists(inputs['gate']):
            time.sleep(0.02)
        this.set_output(pid=os.getpid())
        return this.success('passed the gate')
"""
FAST_LOSS = {"lost_after_s": 2, "heartbeat_s": 0.4}


def _rolled_back(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "round failed" in r.getMessage()]


def _send_raw(address: str, payload) -> list:
    """Connect to the relay, send ``payload`` as one frame, return what the engine answers
    before it closes (or within 10 s)."""
    sock = socket.create_connection(relay.split_address(address), timeout=10)
    try:
        sock.sendall(relay.frame(payload) if not isinstance(payload, bytes) else payload)
        sock.setblocking(False)
        reader, got, deadline = relay.FrameReader(sock, trusted=False), [], time.monotonic() + 10
        while time.monotonic() < deadline:
            if relay.readable([sock]):
                try:
                    got += reader.read()
                except EOFError:
                    break
                if got:
                    break
            time.sleep(0.02)
        return got
    finally:
        sock.close()


def test_what_a_stranger_sends_to_the_relay_fails_no_round(make_workspace, local_cluster, cluster_engine,
                                                           pg_url, caplog):
    caplog.set_level(logging.WARNING)
    engine = cluster_engine(make_workspace({"Quick": QUICK}), local_cluster(workers=1), pg_url)
    assert engine.run("Quick", timeout=60)["status"] == "success"
    address = engine.describe_backend()["relay"]
    for payload in (5, (), {"a": 1}, ("hello", 1, 0, ["a list"], "w", "h", "1"), ("hello", "1", 0, "t", "w", "h", "1"),
                    ("hello", 1, 0, "no-such-token", "w", "h", "1")):
        answer = _send_raw(address, payload)
        assert len(answer) == 1 and answer[0][0] == "refused", (payload, answer)
    # Not even a pickle: the connection is closed.
    assert _send_raw(address, relay._SIZE.pack(8) + b"garbage!") == []
    assert engine.run("Quick", timeout=60)["status"] == "success"
    assert _rolled_back(caplog) == []


def test_a_round_that_rolls_back_after_a_claim_ends_that_run(make_workspace, local_cluster, cluster_engine, pg_url,
                                                             monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    engine = cluster_engine(make_workspace({"Quick": QUICK}), local_cluster(workers=1), pg_url)
    writer = engine._dispatcher.writer
    claim, commit, failed = writer.claim_run, writer.commit, []

    def claim_run(*args):
        failed.append("due")
        return claim(*args)

    def failing_commit():
        if failed == ["due"]:  # once: the round of the first claim fails as it commits
            failed.append("done")
            raise RuntimeError("the database went away (test)")
        commit()

    monkeypatch.setattr(writer, "claim_run", claim_run)
    monkeypatch.setattr(writer, "commit", failing_commit)
    record = engine.run("Quick", timeout=60)
    assert failed == ["due", "done"]
    assert len(_rolled_back(caplog)) == 1
    assert record["status"] == "error", record
    assert "could not record its start" in record["message"], record["message"]
    # And the next one runs as usual.
    assert engine.run("Quick", timeout=60)["status"] == "success"


def test_a_dispatcher_stall_longer_than_lost_after_s_loses_no_healthy_run(make_workspace, local_cluster,
                                                                         cluster_engine, pg_url):
    engine = cluster_engine(make_workspace({"Sleeper": SLEEPER}), local_cluster(workers=1), pg_url,
                            cluster_options=FAST_LOSS)
    # A supervisor that stops reading holds the dispatcher for at most this per message (M2).
    assert engine._dispatcher.backend.cluster._send_timeout <= FAST_LOSS["lost_after_s"] / 2
    execution_id = engine.submit("Sleeper", {"s": 6})
    wait_until(lambda: rows(engine, execution_id)[0]["worker_address"], what="the run placed on a worker")
    time.sleep(0.5)
    # The dispatcher thread is busy for twice lost_after_s (a slow commit, a stuck send...);
    # the supervisor beats all along.
    engine._dispatcher.post(time.sleep, 2 * FAST_LOSS["lost_after_s"]).result(timeout=30)
    record = engine.wait(execution_id, timeout=60)
    assert (record["status"], record["message"]) == ("success", "slept"), record
    assert rows(engine, execution_id)[0]["attempt"] == 1


def _worker_pids(cluster) -> dict[str, int]:
    from distributed import Client

    with Client(cluster.scheduler_address, timeout=10) as client:
        return client.run(os.getpid)




def test_a_stopped_worker_s_run_resumes_elsewhere_and_its_old_flow_is_killed(make_workspace, local_cluster,
                                                                            cluster_engine, pg_url, tmp_path,
                                                                            monkeypatch):
    # Finished runs' sockets are drained for CLOSING_S before they are closed: longer than this
    # test, so that only the engine's kill (or closing a lost run's socket at once) stops the
    # old flow, not a close that comes anyway.
    monkeypatch.setattr(relay.RelayServer, "CLOSING_S", 120.0)
    workspace = make_workspace({"Gated": GATED})
    cluster = local_cluster(workers=2, threads=1)
    workers = _worker_pids(cluster)
    engine = cluster_engine(workspace, cluster, pg_url, cluster_options=FAST_LOSS)
    seen = Recorder(engine)
    gate, pids = tmp_path / "gate", tmp_path / "pids"
    execution_id = engine.submit("Gated", {"gate": str(gate), "pids": str(pids)})
    seen.wait(lambda e: type(e).__name__ == "LogAppended" and e.id == execution_id
              and e.text == "waiting for the gate", what="the flow at its gate")
    stopped = rows(engine, execution_id)[0]["worker_address"]
    [old_flow] = [int(p) for p in pids.read_text().split()]
    os.kill(workers[stopped], signal.SIGSTOP)  # the flow process, in its own group, runs on
    try:
        seen.wait(lambda e: type(e).__name__ == "StatusChanged" and e.id == execution_id and e.status == "queued"
                  and "resumed on another worker" in (e.message or ""), what="the resume elsewhere")
        wait_until(lambda: len(pids.read_text().split()) == 2, what="the resumed run at its gate",
                   detail=lambda: f"{rows(engine, execution_id)}; on the scheduler: "
                                  f"{[(k, t.state, t.processing_on) for k, t in cluster.scheduler.tasks.items()]}")
    finally:
        os.kill(workers[stopped], signal.SIGCONT)
    # Back: its supervisor reads the kill (or the closed connection) and stops the old flow.
    wait_until(lambda: not process_alive(old_flow), timeout=30, what=f"the old flow process {old_flow} gone")
    gate.touch()
    record = engine.wait(execution_id, timeout=60)
    [_, new_flow] = [int(p) for p in pids.read_text().split()]
    assert (record["status"], record["outputs"]) == ("success", {"pid": new_flow}), record
    [root] = rows(engine, execution_id)
    assert root["attempt"] == 2 and root["worker_address"] != stopped
    seen.close()


def test_a_supervisor_that_cannot_reach_the_relay_says_so(make_workspace, local_cluster, cluster_engine, pg_url):
    # 192.0.2.1 (TEST-NET-1) is nobody's: the engine listens on every interface instead, and
    # tells the workers that address, where nothing answers.
    engine = cluster_engine(make_workspace({"Quick": QUICK}), local_cluster(workers=1), pg_url,
                            cluster_options={"advertise": "192.0.2.1"})
    record = engine.run("Quick", timeout=60)
    assert record["status"] == "error", record
    message = record["message"]
    assert "cannot reach the engine's relay at 192.0.2.1:" in message, message
    assert message.endswith("can the Dask workers connect to this machine? (see [cluster] advertise)"), message


def test_registering_the_packages_preinstall_does_not_hold_the_dispatcher(make_workspace, local_cluster,
                                                                         cluster_engine, pg_url, tmp_path,
                                                                         monkeypatch):
    # register_plugin waits for every worker's answer: on a big cluster, or one busy installing,
    # for long. Here it waits for the test, and the engine must go on meanwhile.
    import threading

    from distributed import Client

    from packages.wheels import build_wheel

    register, entered, go = Client.register_plugin, threading.Event(), threading.Event()

    def slow_register(self, plugin, *args, **kwargs):
        if getattr(plugin, "name", "").startswith("flowdesk-packages-"):
            entered.set()
            go.wait(30)
        return register(self, plugin, *args, **kwargs)

    monkeypatch.setattr(Client, "register_plugin", slow_register)
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "acme-faults", "1.0", {"acme_faults.py": "X = 1\n"})
    cluster = local_cluster(workers=1, env={"XDG_CACHE_HOME": str(tmp_path / "worker-cache")})
    workspace = make_workspace({"Quick": QUICK})
    engine = cluster_engine(workspace, cluster, pg_url)
    (workspace.root / "requirements.txt").write_text(
        f"--no-index\n--find-links {wheels.resolve()}\nacme-faults==1.0\n", encoding="utf-8")
    started = time.monotonic()
    try:
        # Its Dask task's submit (on the dispatcher thread, after the round that creates it)
        # reads the new requirements: the preinstall is registered then.
        execution_id = engine.submit("Quick")
        assert entered.wait(30), "the engine never registered the packages' preinstall"
        engine._dispatcher.post(lambda: None).result(timeout=10)
        assert time.monotonic() - started < 10, "the dispatcher waited for register_plugin"
    finally:
        go.set()
    record = engine.wait(execution_id, timeout=120)
    assert (record["status"], record["message"]) == ("success", "ok"), record
