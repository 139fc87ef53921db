"""The relay between an engine and its supervisors (engine_core/cluster/relay.py) and where the
cluster options come from (cluster/config.py): real sockets, real TLS with certificates made by
openssl here; no Dask needed (these run wherever the rest of tests/cluster runs)."""

from __future__ import annotations

import select
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from engine_core.cluster import relay
from engine_core.cluster.config import ClusterError, ClusterOptions, resolve_cluster
from engine_core.workspace import Workspace


def _pair(server_ctx=None, client_ctx=None):
    """(engine's socket, supervisor's socket) connected through a RelayServer."""
    server = relay.RelayServer("127.0.0.1", server_ctx)
    box = {}
    thread = threading.Thread(target=lambda: box.update(sock=relay.connect(server.address, client_ctx)))
    thread.start()
    select.select([server.listener], [], [], 5)
    accepted = None
    while accepted is None:
        accepted = relay.accept(server.listener, server_ctx)
    reader = relay.FrameReader(accepted)
    while thread.is_alive():  # TLS: the engine's reads drive its side of the handshake
        select.select([accepted], [], [], 0.05)
        assert reader.read() == []
    server.listener.close()
    return accepted, box["sock"]


def _read_all(reader, sock, count, timeout=10.0):
    frames = []
    while len(frames) < count:
        assert select.select([sock], [], [], timeout)[0], f"only {len(frames)} of {count} frames came"
        frames += reader.read()
    return frames


def test_frames_both_ways_in_order_with_a_huge_one_and_eof_after_the_last():
    engine, supervisor = _pair()
    big = ("note", 7, "log", {"line": "x" * 3_000_000})  # larger than any socket buffer
    sender = threading.Thread(target=lambda: [relay.send(supervisor, m) for m in
                                              [("hello", 7, 0, "t", "w", "h", "1"), big, *[("beat",)] * 50]])
    sender.start()
    frames = _read_all(relay.FrameReader(engine), engine, 52)
    sender.join(10)
    assert frames[0] == ("hello", 7, 0, "t", "w", "h", "1")
    assert frames[1] == big and frames[2:] == [("beat",)] * 50

    relay.send(engine, ("run", 7))
    relay.send(engine, ("release",))
    engine.close()
    reader = relay.FrameReader(supervisor)
    got = _read_all(reader, supervisor, 2)
    assert got == [("run", 7), ("release",)]
    select.select([supervisor], [], [], 5)
    with pytest.raises(EOFError):
        reader.read()
    assert reader.why == "the connection was closed"
    supervisor.close()


def test_a_frame_split_across_reads_waits_for_its_rest():
    engine, supervisor = _pair()
    data = relay.frame(("call", 1, 7, "log", {"x": 1})) + relay.frame(("beat",))
    reader = relay.FrameReader(engine)
    supervisor.sendall(data[:7])
    select.select([engine], [], [], 5)
    assert reader.read() == []  # not whole yet: nothing, and no blocking
    supervisor.sendall(data[7:])
    assert _read_all(reader, engine, 2) == [("call", 1, 7, "log", {"x": 1}), ("beat",)]
    engine.close()
    supervisor.close()


def test_a_refused_hello_reaches_the_supervisor_before_the_close():
    server = relay.RelayServer("127.0.0.1")
    supervisor = relay.connect(server.address)
    relay.send(supervisor, ("hello", 1, 0, "bad-token", "w", "h", "1"))
    hellos = []
    while not hellos:
        ready = select.select(server.waitables(), [], [], 5)[0]
        assert ready, "the hello never came"
        hellos = server.poll(ready)
    sock, _, frames = hellos[0]
    assert frames == [("hello", 1, 0, "bad-token", "w", "h", "1")]
    server.refuse(sock, "this engine has no such run waiting")
    refused = _read_all(relay.FrameReader(supervisor), supervisor, 1)
    assert refused == [("refused", "this engine has no such run waiting")]
    supervisor.close()
    select.select(server.waitables(), [], [], 5)
    server.poll(server.waitables())  # the supervisor closed: its socket is drained and closed
    assert server.waitables() == [server.listener]
    server.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not on PATH to make test certificates")
    d = tmp_path_factory.mktemp("certs")

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=ca",
        "-days", "2")
    for name in ("engine", "worker"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
            f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            f"{name}.pem", "-days", "2")
    return {name: (str(d / "ca.pem"), str(d / f"{name}.pem"), str(d / f"{name}.key")) for name in ("engine", "worker")}


def test_tls_relay_carries_frames_with_mutual_certificates(certs):
    engine, supervisor = _pair(relay.server_context(certs["engine"]), relay.client_context(certs["worker"]))
    relay.send(supervisor, ("hello", 3, 0, "t", "w", "h", "1"))
    big = ("note", 3, "output", {"v": "y" * 200_000})  # many TLS records: pending() must be drained
    relay.send(supervisor, big)
    assert _read_all(relay.FrameReader(engine), engine, 2) == [("hello", 3, 0, "t", "w", "h", "1"), big]
    engine.close()
    supervisor.close()


def test_tls_relay_refuses_a_client_without_a_certificate(certs):
    server = relay.RelayServer("127.0.0.1", relay.server_context(certs["engine"]))
    anonymous = ssl.create_default_context(cafile=certs["engine"][0])
    anonymous.check_hostname = False
    box = {}

    def connect():
        try:
            sock = relay.connect(server.address, anonymous)
            relay.send(sock, ("hello", 1, 0, "t", "w", "h", "1"))
            box["frames"] = _read_all(relay.FrameReader(sock), sock, 1)
        except (OSError, EOFError, AssertionError) as exc:
            box["error"] = exc

    thread = threading.Thread(target=connect)
    thread.start()
    hellos, deadline = [], 0
    while thread.is_alive() and deadline < 50:
        ready = select.select(server.waitables(), [], [], 0.1)[0]
        hellos += server.poll(ready)
        deadline += 1
    thread.join(10)
    assert hellos == []  # nothing read from it: the handshake failed
    assert "frames" not in box
    server.close()


def test_cluster_options_from_the_command_line_environment_and_workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWDESK_CLUSTER", raising=False)
    ws = Workspace.open(tmp_path, create=True)
    assert resolve_cluster(ws, None, False) is None  # nothing configured: this machine
    assert resolve_cluster(ws, "sched.lan:8786", False) == ClusterOptions("tcp://sched.lan:8786")
    assert resolve_cluster(ws, "local:3", False).local_workers == 3
    monkeypatch.setenv("FLOWDESK_CLUSTER", "tls://10.0.0.1:8786")
    assert resolve_cluster(ws, None, False).scheduler == "tls://10.0.0.1:8786"
    assert resolve_cluster(ws, None, True) is None  # --local wins over everything
    monkeypatch.delenv("FLOWDESK_CLUSTER")
    (ws.state_dir / "config.toml").write_text(
        '[cluster]\nrun_on = "cluster"\nscheduler = "tcp://a:8786"\nadvertise = "10.0.0.2"\nlost_after_s = 20\n')
    options = resolve_cluster(ws, None, False)
    assert (options.scheduler, options.advertise, options.lost_after_s) == ("tcp://a:8786", "10.0.0.2", 20)
    assert resolve_cluster(ws, "local", False).advertise == "10.0.0.2"  # --cluster picks the scheduler only


@pytest.mark.parametrize("text, error", [
    ("http://x:8786", "is not a Dask scheduler address"),
    ("tcp://x", "needs a host and a port"),
    ("local:0", "local:N"),
])
def test_bad_scheduler_addresses_say_what_to_write(tmp_path, text, error):
    with pytest.raises(ClusterError, match=error):
        resolve_cluster(Workspace.open(tmp_path, create=True), text, False)


def test_config_without_a_scheduler_or_with_unknown_keys_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWDESK_CLUSTER", raising=False)
    ws = Workspace.open(tmp_path, create=True)
    (ws.state_dir / "config.toml").write_text('[cluster]\nrun_on = "cluster"\n')
    with pytest.raises(ClusterError, match="gives no scheduler"):
        resolve_cluster(ws, None, False)
    (ws.state_dir / "config.toml").write_text('[cluster]\nrun_on = "cluster"\nscheduler = "a:1"\nschedular = 1\n')
    with pytest.raises(ClusterError, match="unknown keys \\['schedular'\\]"):
        resolve_cluster(ws, None, False)


def test_route_to_names_a_local_address():
    assert relay.route_to("127.0.0.1") == "127.0.0.1"
    address = relay.route_to("10.255.255.1", 8786)  # no packet is sent: only the route is looked up
    socket.inet_aton(address)


def test_before_its_hello_is_accepted_a_connection_may_send_plain_values_only():
    """On plain tcp:// anyone who reaches the engine's port may connect: what it sends before
    showing a ticket's token must not be able to run code in the engine (a pickle can)."""
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch /tmp/flowdesk-relay-pwned",))

    server = relay.RelayServer("127.0.0.1")
    for payload in (pickle.dumps(("hello", Evil())), b"\x00" * 100):
        attacker = relay.connect(server.address)
        attacker.sendall(relay._SIZE.pack(len(payload)) + payload)
        hellos = []
        for _ in range(20):
            hellos += server.poll(select.select(server.waitables(), [], [], 0.1)[0])
        assert hellos == []
        attacker.setblocking(True)
        attacker.settimeout(5)
        assert attacker.recv(10) == b""  # the engine closed it
        attacker.close()
    assert not os.path.exists("/tmp/flowdesk-relay-pwned")
    big = relay.connect(server.address)  # a huge frame is refused before it is buffered
    big.sendall(relay._SIZE.pack(1 << 30) + b"x" * 1000)
    for _ in range(20):
        assert server.poll(select.select(server.waitables(), [], [], 0.1)[0]) == []
    assert server.waitables() == [server.listener]  # dropped: nothing of it is kept
    big.close()
    server.close()


def test_send_waits_for_a_full_peer_on_a_descriptor_past_1024_then_times_out():
    # select.select refuses fds >= 1024 (ValueError): a busy Dask worker or an engine with
    # many runs has such sockets, and send must wait on them like on any other.
    import os
    import resource
    import time

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if max(soft, hard) < 1600:
        pytest.skip("the file descriptor limit is below 1600")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1600), hard))
    a, peer = socket.socketpair()
    try:
        high = socket.socket(fileno=os.dup2(a.fileno(), 1500))
        a.close()
        high.setblocking(False)
        started = time.monotonic()
        with pytest.raises(ConnectionError, match="read nothing for 0.3 s"):
            for _ in range(1000):  # the peer never reads: its buffers fill, then send waits
                relay.send(high, ("log", "x" * 65536), timeout=0.3)
        assert time.monotonic() - started < 5
        high.close()
    finally:
        peer.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_send_to_a_slow_reader_that_keeps_reading_does_not_time_out():
    engine, supervisor = _pair()
    big = ("reply", 1, True, "x" * 8_000_000)

    def slow_reader(got=[]):
        reader = relay.FrameReader(supervisor)
        while not got:
            select.select([supervisor], [], [], 5)
            got += reader.read()
            threading.Event().wait(0.01)
        return got

    box = {}
    thread = threading.Thread(target=lambda: box.update(frames=slow_reader()))
    thread.start()
    relay.send(engine, big, timeout=0.5)  # longer than 0.5 s in all, but never 0.5 s without progress
    thread.join(30)
    assert box["frames"] == [big]
    engine.close()
    supervisor.close()


def test_the_listener_survives_running_out_of_file_descriptors():
    import resource

    server = relay.RelayServer("127.0.0.1")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    client = socket.create_connection(relay.split_address(server.address))
    filler = []
    try:
        # Every descriptor taken: accept() fails with EMFILE while the peer waits in the backlog.
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        try:
            while True:
                filler.append(socket.socket())
        except OSError:
            pass
        assert select.select([server.listener], [], [], 5)[0]
        assert server.poll([server.listener]) == []  # no exception: logged, and paused
        assert server.listener not in server.waitables()  # not watched (no busy loop) for a while
    finally:
        for sock in filler:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    relay.send(client, ("hello", 1, 0, "t", "w", "h", "1"))
    hellos = []
    deadline = threading.Event()
    for _ in range(100):  # watched again after ACCEPT_PAUSE_S: the waiting peer is accepted
        ready = select.select(server.waitables(), [], [], 0.1)[0]
        hellos += server.poll(ready)
        if hellos:
            break
        deadline.wait(0.05)
    assert [frames for _, _, frames in hellos] == [[("hello", 1, 0, "t", "w", "h", "1")]]
    client.close()
    server.close()
