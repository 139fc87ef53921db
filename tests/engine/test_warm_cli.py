"""The warm command process (engine_core/warm), through the real ``flowdesk`` script: a command
handed to it behaves as the same command run on its own (output, exit codes, environment,
working directory, umask, Ctrl+C), a caller killed takes its command with it, a changed module
retires the warm process, and nothing is left running.

The rest of the suite runs with FLOWDESK_WARM=0 (tests/conftest.py), so that a test watching
one process's imports or timing means that process; these turn it on, each with a folder of its
own for the socket."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine_core.warm import client as warm
from support import WHERE_FLOW, ancestors, ancestors_of, parent_of, process_alive, wait_until, warm_pid

FLOWDESK = Path(sys.executable).with_name("flowdesk")
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the warm process is Linux only")

LOOPER = """
import os, time

def handler(system, this, inputs):
    with open(inputs['pidfile'], 'w') as f:
        f.write(str(os.getpid()))
    while True:
        time.sleep(0.05)
"""


@pytest.fixture
def warm_env(workspace):
    """The environment of a shell with the warm process on, in a socket folder of this test's
    (a short path: a Unix socket's path has at most 107 bytes)."""
    folder = tempfile.mkdtemp(prefix="fw-")
    env = dict(os.environ, FLOWDESK_WARM="1", FLOWDESK_WARM_DIR=folder)
    workspace.write_flow("Where", WHERE_FLOW)
    yield env
    # A command that starts a warm process makes its log first: wait for that process's pid.
    for log in Path(folder).glob("*.log"):
        lock = log.with_suffix(".lock")
        wait_until(lambda: (lock.exists() and lock.read_text().strip()) or log.read_text(), 30,
                   "the warm process started by the test's last command")
        text = lock.read_text().strip() if lock.exists() else ""
        if text:
            try:
                os.kill(int(text), signal.SIGTERM)
            except ProcessLookupError:
                continue
            wait_until(lambda: not process_alive(int(text)), 10, "the warm process ending at SIGTERM")
    shutil.rmtree(folder)


def flowdesk(env, *args, cwd=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([str(FLOWDESK), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


@contextmanager
def looping(env, workspace, tmp_path, *options: str, **popen):
    """`flowdesk run Looper` (a flow that loops until it is stopped) in a process of its own.
    Yields (that process, the command's process, the flow's process) once the flow runs."""
    workspace.write_flow("Looper", LOOPER)
    pidfile = tmp_path / "looper.pid"
    runner = subprocess.Popen([str(FLOWDESK), "run", "Looper", "-w", str(workspace), "-i", f'pidfile="{pidfile}"',
                               *options], env=env, **popen)
    try:
        looper = wait_until(lambda: pidfile.exists() and pidfile.read_text() and int(pidfile.read_text()), 30, "the looper")
        yield runner, ancestors_of(looper)[1], looper
    finally:
        runner.kill()
        runner.wait()


def started_warm(env, workspace) -> int:
    """Run a first command (on its own: no warm process yet), which leaves one behind."""
    first = flowdesk(env, "run", "Where", "-w", str(workspace))
    assert first.returncode == 0, first.stderr
    assert "ancestors=" in first.stdout
    return wait_until(lambda: warm_pid(env["FLOWDESK_WARM_DIR"]), 30, "the warm process accepting commands")


def forks_of(server: int) -> list[int]:
    """Live processes with the warm process's command line, but for itself."""
    command = Path(f"/proc/{server}/cmdline").read_bytes()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != server:
            try:
                if (entry / "cmdline").read_bytes() == command and process_alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent_of(int(entry.name)) == pid and process_alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:  # ended meanwhile
                continue
    return found


def test_a_command_handed_to_the_warm_process_behaves_as_on_its_own(warm_env, workspace, tmp_path):
    server = started_warm(warm_env, workspace)
    cold_env = dict(warm_env, FLOWDESK_WARM="0", FOO="bar")
    cold = flowdesk(cold_env, "run", "Where", "-w", ".", cwd=workspace)
    warm_run = flowdesk(dict(warm_env, FOO="bar"), "run", "Where", "-w", ".", cwd=workspace)

    assert server in ancestors(warm_run.stdout) and server not in ancestors(cold.stdout)
    # the same lines, but for the execution's number and the ancestors
    same = lambda out: [line.split("|")[-1].split(":", 1)[-1] for line in out.splitlines() if "ancestors" not in line]
    assert same(warm_run.stdout) == same(cold.stdout)
    assert f"FOO=bar cwd={workspace.root} umask=22" in warm_run.stdout
    assert warm_run.returncode == 0 and warm_run.stderr == ""

    failed = flowdesk(warm_env, "run", "Where", "-w", str(workspace), "-i", "fail=true")
    assert failed.returncode == 1 and server in ancestors(failed.stdout)
    assert "error — ValueError: asked to fail (flow 'Where', line 17)" in failed.stdout
    unknown = flowdesk(warm_env, "run", "Nope", "-w", str(workspace))
    assert unknown.returncode == 2 and "no flow 'Nope' in workspace" in unknown.stderr
    bad_input = flowdesk(warm_env, "run", "Where", "-w", str(workspace), "-i", "x={")
    assert bad_input.returncode == 2 and "--input x: '{' is not valid JSON" in bad_input.stderr
    usage = flowdesk(warm_env, "run")
    assert usage.returncode == 2 and "the following arguments are required: flow" in usage.stderr
    listing = flowdesk(warm_env, "executions", "-w", str(workspace), "--limit", "1")
    assert listing.returncode == 0 and "Where" in listing.stdout.splitlines()[1]
    # The caller's time zone, read at the command's start as a fresh process reads it.
    for zone in ("Asia/Tokyo", "America/New_York"):
        tz_warm = flowdesk(dict(warm_env, TZ=zone), "executions", "-w", str(workspace), "--limit", "1")
        tz_cold = flowdesk(dict(cold_env, TZ=zone), "executions", "-w", str(workspace), "--limit", "1")
        assert tz_warm.stdout == tz_cold.stdout

    # A command's helpers (forkserver, resource tracker: forks of the warm process, so with its
    # command line) end with it: the warm process is left alone.
    wait_until(lambda: forks_of(server) == [], 10, "no process forked from the warm process",
               detail=lambda: f"left: {forks_of(server)}")


def test_commands_at_the_same_time_each_get_their_own_process(warm_env, workspace):
    server = started_warm(warm_env, workspace)
    runners = [subprocess.Popen([str(FLOWDESK), "run", "Where", "-w", str(workspace), "--name", f"at once {n}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=warm_env)
               for n in range(4)]
    outputs = [runner.communicate(timeout=60) for runner in runners]
    assert [runner.returncode for runner in runners] == [0] * 4, outputs
    commands = set()
    for n, (stdout, _) in enumerate(outputs):
        assert f"at once {n} (Where): success — done" in stdout
        chain = ancestors(stdout)
        assert server in chain
        commands.add(chain[chain.index(server) - 1])  # the command's process: the warm one's child
    assert len(commands) == 4


def test_the_umask_and_a_relative_workspace_are_the_callers(warm_env, workspace):
    server = started_warm(warm_env, workspace)
    result = subprocess.run(f"umask 027 && {FLOWDESK} run Where -w .", shell=True, capture_output=True, text=True,
                            env=warm_env, cwd=workspace, timeout=60)
    assert result.returncode == 0, result.stderr
    assert server in ancestors(result.stdout)
    assert f"cwd={workspace.root} umask=27" in result.stdout


def test_ctrl_c_reaches_the_command_and_cancels_its_tree(warm_env, workspace, tmp_path):
    server = started_warm(warm_env, workspace)
    with looping(warm_env, workspace, tmp_path, stdout=subprocess.PIPE, text=True) as (runner, command, looper):
        assert runner.stdout.readline().strip().endswith("Looper: running")
        assert ancestors_of(command)[0] == server
        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=20) == 1
        assert "cancelled: interrupted (Ctrl+C)" in runner.stdout.read()
    wait_until(lambda: not process_alive(looper), 10, "the looping flow gone")


def test_a_killed_caller_takes_its_command_with_it(warm_env, workspace, tmp_path):
    server = started_warm(warm_env, workspace)
    with looping(warm_env, workspace, tmp_path, stdout=subprocess.DEVNULL) as (runner, command, looper):
        assert children_of(server) == [command]
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
    # As when a command running on its own is killed: its process ends, and its flow with it (lifeline).
    wait_until(lambda: not process_alive(command), 10, "the command's process gone")
    wait_until(lambda: not process_alive(looper), 10, "the flow's process gone")
    assert process_alive(server)


def test_a_changed_module_retires_the_warm_process(warm_env, workspace, tmp_path):
    # A module the warm process imported at its start, in a folder of this test's: sitecustomize
    # (every interpreter on this path imports it), changed as an upgrade would change a module.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("VERSION = 1\n")
    env = dict(warm_env, PYTHONPATH=str(site))
    old = started_warm(env, workspace)
    assert old in ancestors(flowdesk(env, "run", "Where", "-w", str(workspace)).stdout)

    (site / "sitecustomize.py").write_text("VERSION = 22\n")
    on_its_own = flowdesk(env, "run", "Where", "-w", str(workspace))
    assert on_its_own.returncode == 0, on_its_own.stderr
    assert old not in ancestors(on_its_own.stdout)  # refused by the stale one, run on its own
    wait_until(lambda: not process_alive(old), 10, "the stale warm process ending")
    new = wait_until(lambda: warm_pid(env["FLOWDESK_WARM_DIR"]), 30, "a fresh warm process")
    assert new != old and new in ancestors(flowdesk(env, "run", "Where", "-w", str(workspace)).stdout)


def test_an_idle_warm_process_ends(warm_env, workspace):
    env = dict(warm_env, FLOWDESK_WARM_IDLE_S="1")
    assert flowdesk(env, "run", "Where", "-w", str(workspace)).returncode == 0
    lock = next(Path(env["FLOWDESK_WARM_DIR"]).glob("*.log")).with_suffix(".lock")
    server = int(wait_until(lambda: lock.exists() and lock.read_text().strip(), 30, "the warm process's pid"))
    wait_until(lambda: not process_alive(server), 15, "the idle warm process ending")
    assert not list(Path(env["FLOWDESK_WARM_DIR"]).glob("*.sock"))
    again = flowdesk(env, "run", "Where", "-w", str(workspace))  # on its own, and it starts a new one
    assert again.returncode == 0 and server not in ancestors(again.stdout)


def test_a_socket_folder_others_can_enter_turns_it_off(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    monkeypatch.setenv("FLOWDESK_WARM_DIR", str(shared))
    assert warm.socket_path() is None
    shared.chmod(0o700)
    assert warm.socket_path().startswith(str(shared))


def test_warm_off_runs_every_command_on_its_own(warm_env, workspace):
    env = dict(warm_env, FLOWDESK_WARM="0")
    result = flowdesk(env, "run", "Where", "-w", str(workspace))
    assert result.returncode == 0
    # A command that starts a warm process makes its log file before it returns: there is none.
    assert not list(Path(env["FLOWDESK_WARM_DIR"]).iterdir())





def test_a_caller_without_stdin_runs_its_command_on_its_own(warm_env, workspace):
    server = started_warm(warm_env, workspace)
    result = subprocess.run(f"{FLOWDESK} run Where -w . <&-", shell=True, capture_output=True, text=True,
                            env=warm_env, cwd=workspace, timeout=60)
    assert result.returncode == 0, result.stderr
    assert server not in ancestors(result.stdout)
    assert server in ancestors(flowdesk(warm_env, "run", "Where", "-w", str(workspace)).stdout)


def test_signals_the_caller_ignores_are_ignored_by_its_command(warm_env, workspace, tmp_path):
    # The first command starts with SIGTERM blocked and SIGHUP ignored: the warm process it
    # leaves must not keep either (the fixture's SIGTERM ends it). The second, as under nohup,
    # ignores SIGHUP: a hang-up ends neither it nor its command.
    def nohup_and_blocked():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})

    first = subprocess.run([str(FLOWDESK), "run", "Where", "-w", str(workspace)], capture_output=True, text=True,
                           env=warm_env, timeout=60, preexec_fn=nohup_and_blocked)
    assert first.returncode == 0
    server = wait_until(lambda: warm_pid(warm_env["FLOWDESK_WARM_DIR"]), 30, "the warm process")
    status = dict(line.split(":\t", 1) for line in Path(f"/proc/{server}/status").read_text().splitlines())
    hup, term = 1 << (signal.SIGHUP - 1), 1 << (signal.SIGTERM - 1)
    assert int(status["SigBlk"], 16) == 0 and not int(status["SigIgn"], 16) & (hup | term), status
    nohup = dict(stdout=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    with looping(warm_env, workspace, tmp_path, "--timeout", "3", **nohup) as (runner, command, _):
        assert ancestors_of(command)[0] == server
        runner.send_signal(signal.SIGHUP)
        os.kill(command, signal.SIGHUP)
        assert runner.wait(timeout=30) == 1  # ended by its --timeout, not by the hang-up
        assert "cancelled: timeout after 3 s" in runner.stdout.read()


def test_a_command_killed_by_a_signal_ends_its_caller_by_it(warm_env, workspace, tmp_path):
    server = started_warm(warm_env, workspace)
    with looping(warm_env, workspace, tmp_path, stdout=subprocess.DEVNULL) as (runner, command, looper):
        assert ancestors_of(command)[0] == server
        os.kill(command, signal.SIGKILL)  # as the kernel's OOM killer would
        assert runner.wait(timeout=30) == -signal.SIGKILL
    wait_until(lambda: not process_alive(looper), 10, "the flow's process gone")


def test_a_bad_request_or_signal_byte_harms_no_other_command(warm_env, workspace):
    server = started_warm(warm_env, workspace)
    path = str(next(Path(warm_env["FLOWDESK_WARM_DIR"]).glob("*.sock")))
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(path)  # says nothing: dropped after its request's deadline
    garbage = socket.socket(socket.AF_UNIX)
    garbage.connect(path)
    garbage.sendall(b"F" + b"\xff" * 64)  # no descriptors, no message
    try:
        result = flowdesk(warm_env, "run", "Where", "-w", str(workspace))
        assert result.returncode == 0 and server in ancestors(result.stdout)
    finally:
        silent.close()
        garbage.close()
    # a caller's connection that forwards a byte that is no signal it may forward
    workspace.write_flow("Sleeper", "import time\ndef handler(system, this, inputs):\n    time.sleep(1)\n"
                                    "    return this.success('slept')\n")
    with socket.socket(socket.AF_UNIX) as caller:
        caller.connect(path)
        request = wire_request(["run", "Sleeper", "-w", str(workspace)], warm_env)
        send_with_stdio(caller, request)
        assert "pid" in warm.read_message(caller)
        caller.sendall(bytes([200, signal.SIGKILL, 0]))
        assert warm.read_message(caller) == {"exit": 0}
    assert process_alive(server)


def send_with_stdio(sock, request) -> None:
    cwd = os.open(".", os.O_PATH)
    try:
        socket.send_fds(sock, [b"F"], [0, 1, 2, cwd])
    finally:
        os.close(cwd)
    warm.send_message(sock, request)


def wire_request(argv, env) -> dict:
    """A request as the launcher's client makes it, for this test process's own stdio."""
    request = warm._request(argv, [])
    request["env"] = env
    request["mask"] = []
    request["streams"] = [["utf-8", "strict", False, False, False]] * 3  # pytest's capture has none of its own
    return request


def test_ctrl_z_stops_the_command_and_fg_continues_it(warm_env, workspace, tmp_path):
    server = started_warm(warm_env, workspace)
    # A job of its own, as a shell makes one: its group's parent (this test) is in the session,
    # so the kernel honours its stop (it drops one for an orphaned group, as the test runner's
    # own group may be).
    job = dict(stdout=subprocess.PIPE, text=True, process_group=0)
    with looping(warm_env, workspace, tmp_path, **job) as (runner, command, _):
        assert ancestors_of(command)[0] == server
        runner.send_signal(signal.SIGTSTP)  # what the terminal sends the foreground job at Ctrl+Z
        wait_until(lambda: _state(command) == "T" and _state(runner.pid) == "T", 10, "the command and its caller stopped")
        runner.send_signal(signal.SIGCONT)  # `fg`
        wait_until(lambda: _state(command) != "T" and _state(runner.pid) != "T", 10, "both running again")
        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=20) == 1
        assert "cancelled: interrupted (Ctrl+C)" in runner.stdout.read()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


# A caller as the launcher's client is, but for a nice value of its own (or not): it prints
# what the warm process answers.
CALLER = """
import os, socket, sys
sys.path[:0] = {path!r}
from engine_core.warm import client as warm
if {nice}:
    os.nice({nice})
request = warm._request({argv!r}, [])
request["streams"] = [["utf-8", "strict", False, False, False]] * 3
with socket.socket(socket.AF_UNIX) as sock:
    sock.connect({sock!r})
    cwd = os.open(".", os.O_PATH)
    try:
        socket.send_fds(sock, [b"F"], [0, 1, 2, cwd])
        warm.send_message(sock, request)
        answer = warm.read_message(sock)
    except OSError:  # refused: the connection closed under the request
        answer = None
    print("ANSWER", "pid" in answer if answer else None, warm.read_message(sock) if answer else None, flush=True)
"""


def test_a_caller_of_another_context_is_refused(warm_env, workspace):
    started_warm(warm_env, workspace)
    path = str(next(Path(warm_env["FLOWDESK_WARM_DIR"]).glob("*.sock")))
    argv = ["executions", "-w", str(workspace), "--limit", "1"]
    for nice, answer in ((0, "ANSWER True {'exit': 0}"), (1, "ANSWER None None")):
        code = CALLER.format(path=sys.path, nice=nice, argv=argv, sock=path)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=warm_env, timeout=60)
        assert answer in result.stdout, result.stdout + result.stderr


def test_ctrl_z_then_killing_the_caller_leaves_nothing_stopped(warm_env, workspace, tmp_path):
    server = started_warm(warm_env, workspace)
    job = dict(stdout=subprocess.DEVNULL, process_group=0)  # a job: see the test above
    with looping(warm_env, workspace, tmp_path, **job) as (runner, command, looper):
        assert ancestors_of(command)[0] == server
        runner.send_signal(signal.SIGTSTP)
        wait_until(lambda: _state(command) == "T", 10, "the command stopped")
        runner.send_signal(signal.SIGKILL)  # `kill -9 %1`
        runner.wait(timeout=10)
    wait_until(lambda: not process_alive(command), 10, "the stopped command gone with its caller")
    wait_until(lambda: not process_alive(looper), 10, "its flow gone")


def test_a_caller_that_ignores_ctrl_c_still_cancels_on_sigint(warm_env, workspace, tmp_path):
    # `flowdesk run` takes SIGINT over whatever it inherited (a background job's SIG_IGN), on its
    # own and warm alike.
    server = started_warm(warm_env, workspace)
    ignoring = dict(stdout=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    with looping(warm_env, workspace, tmp_path, **ignoring) as (runner, command, _):
        assert ancestors_of(command)[0] == server
        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=20) == 1
        assert "cancelled: interrupted (Ctrl+C)" in runner.stdout.read()


def test_an_old_warm_process_leaves_a_newer_ones_socket_alone(warm_env, workspace):
    folder = Path(warm_env["FLOWDESK_WARM_DIR"])
    old = started_warm(warm_env, workspace)
    shutil.rmtree(folder)  # as /run/user/UID goes at a logout, while the old one runs on
    new = started_warm(warm_env, workspace)  # the folder is made again; a second warm process in it
    assert new != old and process_alive(old)
    os.kill(old, signal.SIGTERM)
    wait_until(lambda: not process_alive(old), 10, "the old warm process ending")
    assert new in ancestors(flowdesk(warm_env, "run", "Where", "-w", str(workspace)).stdout)
