"""Flow processes on a Dask worker (engine_core/cluster/flow_processes.py starts them).

``python -m engine_core.worker.remote FD PARENT MEM MAX_RUNS SITE`` is one flow process: the
same loop as a local worker (``worker_main``: its own process group, the memory limit, exit
when PARENT, the Dask worker, is gone), speaking the same frames over FD, one end of a
socketpair, as over a local pipe; the cluster supervisor relays them to the engine. MEM is the
address-space limit in MB ("0": none); SITE the package set's directory ("": none).

``python -m engine_core.worker.remote --zygote FD PARENT`` is the zygote: it imports the flow
runtime once, then forks such a flow process for each request on FD (a SOCK_SEQPACKET socket:
one request per message, the flow's socket end passed with it), answers with the child's pid
and a pidfd, and reports each child's exit code (only it can reap them). It has no threads,
so forking it is safe."""

from __future__ import annotations

import os
import pickle
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import Connection


def main(argv: list[str]) -> None:
    if argv[0] == "--zygote":
        serve_forks(socket.socket(fileno=int(argv[1])), int(argv[2]))
        return
    fd, parent, memory_limit_mb, max_runs, site = argv
    run_flow_process(int(fd), int(parent), memory_limit_mb, max_runs, site)


def run_flow_process(fd: int, parent: int, memory_limit_mb: str, max_runs: str, site: str) -> None:
    _kill_group_when_gone(parent)
    # Imported here (or in the zygote before it forks): what makes the process "warm" (~0.1 s),
    # so it is started before an execution needs it.
    from .process import worker_main

    worker_main(Connection(fd), parent, int(memory_limit_mb) or None, int(max_runs), site or None)


def _kill_group_when_gone(parent: int) -> None:
    """A Dask worker killed outright (the Nanny's memory limit, kill -9, a lost machine's
    restart) cannot kill its flows' process groups; this does, with what the flow started.
    worker_main's lifeline only ends this process: a subprocess of the flow would outlive it,
    running without an engine. Checked more often than that lifeline so that this one wins."""
    from ..lifeline import owner_gone

    def watch() -> None:
        while True:
            time.sleep(0.25)
            if owner_gone(parent):
                if os.getpgid(0) == os.getpid():  # after worker_main's setsid: the group is ours alone
                    os.killpg(0, signal.SIGKILL)
                os._exit(0)

    threading.Thread(target=watch, name="flowdesk-group-lifeline", daemon=True).start()


def serve_forks(control: socket.socket, parent: int) -> None:
    import importlib
    import select

    from ..lifeline import owner_gone

    importlib.import_module(".process", __package__)  # preloaded: every fork starts with it

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGCHLD wakes the poll below through this pipe: children are reaped as they end.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    poller = select.poll()
    poller.register(control.fileno(), select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while True:
        events = poller.poll(250)  # also the interval of the parent check: no lifeline thread here
        if owner_gone(parent):
            os._exit(0)
        try:
            os.read(wake_r, 4096)
        except BlockingIOError:
            pass
        _reap(control)
        if any(fd == control.fileno() for fd, _ in events):
            try:
                data, fds, _, _ = socket.recv_fds(control, 4096, 1)
            except OSError:
                data, fds = b"", []
            if not data:
                os._exit(0)  # the Dask worker closed us
            request, memory_limit_mb, max_runs, site = pickle.loads(data)
            if not fds:
                continue
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                control.close()
                os.close(wake_r)
                os.close(wake_w)
                try:
                    run_flow_process(fds[0], parent, memory_limit_mb, max_runs, site)
                finally:
                    os._exit(0)
            os.close(fds[0])
            try:
                pidfd = [os.pidfd_open(pid)]
            except (AttributeError, OSError):
                pidfd = []
            socket.send_fds(control, [pickle.dumps(("spawned", request, pid))], pidfd)
            for fd in pidfd:
                os.close(fd)


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        try:
            control.send(pickle.dumps(("exit", pid, os.waitstatus_to_exitcode(status))))
        except OSError:
            os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
