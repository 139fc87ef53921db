"""The Dask task of one execution run: ``supervise(ticket)``, on a Dask worker.

It connects back to the engine that submitted it (the relay), says hello with the ticket's
token, and once the engine has claimed the run (RUN arrives) runs the execution in a flow
process of this worker (its own process group, kept warm by the plugin) and relays the frames
both ways, verbatim. The engine stays the only writer of the database; to its dispatcher a
remote execution is a worker whose pipe is a socket.

Two threads per run. The task's own thread (Dask's) does only what must happen there:
installing the packages, ``secede()`` when the engine says the execution blocks (a child, a
lock, a form, a sleep: the Dask slot goes to others, so deep trees do not deadlock) and
``rejoin()`` when it is answered. ``rejoin`` blocks until Dask has a free slot, so the relay
itself (frames, signals, kill, heartbeats) runs on a second thread that never waits for Dask:
a cancel reaches a flow whose task is waiting to rejoin at once.

Nothing runs without its engine: when the relay connection ends, the flow's process group is
killed. The task returns "done", "duplicate" (another run claimed the execution), "refused"
(this worker cannot run it: packages, version), "killed", "exited" (the flow process died; the
engine got ("exit", ...)) or "engine gone"."""

from __future__ import annotations

import collections
import logging
import os
import select
import socket
import threading
import time
from queue import SimpleQueue

from .. import protocol
from . import relay
from .flow_processes import FlowProcess
from .plugin import FlowdeskWorkerPlugin, plugin_for

log = logging.getLogger("flowdesk.cluster")

ENGINE_SILENT_S = 30.0
"""An engine that acknowledges nothing for this long is gone (see _notice_a_vanished_engine)."""
REFUSE_LINGER_S = 30.0
"""After a refuse, how long the task waits for the engine to end the run (release, kill or
closing the connection) before giving its slot back anyway."""


def supervise(ticket) -> str:
    """The Dask task (see the module's docstring)."""
    from distributed import get_worker

    return Supervision(ticket, plugin_for(get_worker())).run()


class Supervision:
    def __init__(self, ticket, plugin: FlowdeskWorkerPlugin) -> None:
        self.ticket = ticket
        self.plugin = plugin
        self.id = ticket.execution_id
        self.commands: SimpleQueue = SimpleQueue()  # relay thread -> task thread
        self.inbox: collections.deque = collections.deque()  # task thread -> relay thread
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self.sock: socket.socket | None = None
        self.flow: FlowProcess | None = None
        self.pending: list = []  # engine messages for the flow before it is there
        self.seceded = False  # the relay thread's view: a "secede" was asked and no REPLY since
        self.done = False  # the flow sent its DONE
        self.retire = False
        self.refused_at: float | None = None
        # The relay thread's: engine socket, wake pipe, flow socket and pidfd. poll, not select:
        # a busy Dask worker may have file descriptors past select's 1024.
        self._poll = select.poll()

    # --- the task's thread ----------------------------------------------------------------------

    def run(self) -> str:
        try:
            connected = self._connect()
        except BaseException:
            self._close_wake()
            raise
        if not connected:
            self._close_wake()
            return "engine gone"
        threading.Thread(target=self._relay_thread, name=f"flowdesk-relay-{self.id}", daemon=True).start()
        try:
            # While the engine claims the run, get the flow process ready (normally: one taken
            # from the warm set, the packages installed long ago).
            try:
                why = self.plugin.refusal(self.ticket) or self._prepare()
            except Exception as exc:
                log.exception("preparing execution %s failed", self.id)
                why = f"the worker {self.plugin.address} ({self.plugin.host}) could not start the execution: {exc!r}"
            if why is not None:
                self._to_relay(("refuse", why))
            return self._serve_relay()
        except BaseException:
            # The task fails (a bug, the worker shutting down): the relay must not go on beating
            # for an execution nobody serves. It kills the flow and closes the connection, so
            # the engine sees the run end.
            self._to_relay(("abort",))
            raise

    def _connect(self) -> bool:
        self.sock = greet(self.ticket, self.plugin)
        return self.sock is not None

    def _close_wake(self) -> None:
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _prepare(self) -> str | None:
        process, why = take_flow_process(self.ticket, self.plugin)
        if process is not None:
            self._to_relay(("attach", process))
        return why

    def _serve_relay(self) -> str:
        """Do what only the task's thread can (secede, rejoin) until the relay thread ends."""
        from distributed import rejoin, secede

        seceded = False
        while True:
            command = self.commands.get()
            if command == "secede":
                if not seceded:
                    seceded = _quietly(secede)
            elif command == "rejoin":
                if seceded:
                    # May wait for a free slot; the relay goes on meanwhile.
                    seceded = not _quietly(rejoin)
            else:  # ("end", result): the relay thread is gone; what it never took is ours again
                for item in self.inbox:
                    if item[0] == "attach":
                        self.plugin.flows.put(item[1])
                self._close_wake()
                return command[1]

    def _to_relay(self, item: tuple) -> None:
        self.inbox.append(item)
        try:
            os.write(self._wake_w, b"!")
        except OSError:
            pass  # the relay thread has ended

    # --- the relay thread ------------------------------------------------------------------------

    def _relay_thread(self) -> None:
        try:
            result = self._relay()
        except _EngineGone:
            result = self._engine_gone()
        except _Aborted:  # the task's thread has failed and left: nobody reads "end"
            self._engine_gone()
            self._close_wake()
            return
        except Exception:  # a bug here must not leave a flow running without its engine
            log.exception("the relay of execution %s failed", self.id)
            result = "failed"
            if self.flow is not None:
                self.flow.kill()
                self.flow = None
        finally:
            self.sock.close()
        self.commands.put(("end", result))

    def _relay(self) -> str:
        reader = relay.FrameReader(self.sock)
        engine_fd = self.sock.fileno()
        self._poll.register(engine_fd, select.POLLIN)
        self._poll.register(self._wake_r, select.POLLIN)
        beat_every = self.ticket.heartbeat_s or 2.0
        beat_at = time.monotonic() + beat_every
        while True:
            flow = self.flow
            wait = max(0.0, beat_at - time.monotonic())
            if flow is not None and flow.pidfd is None:
                wait = min(wait, 0.5)  # no pidfd: notice its death by polling
            ready = {fd for fd, _ in self._poll.poll(wait * 1000)}
            if self._wake_r in ready or self.inbox:
                self._from_task()
            if engine_fd in ready:
                try:
                    messages = reader.read()
                except EOFError:
                    return self._engine_gone()
                for message in messages:
                    result = self._from_engine(message)
                    if result:
                        return result
            if flow is not None and flow is self.flow:
                ended = flow.sock.fileno() in ready and self._from_flow(flow)
                if ended or (flow.pidfd in ready if flow.pidfd is not None else not flow.alive()):
                    result = self._flow_gone(flow)
                    if result:
                        return result
            now = time.monotonic()
            if now >= beat_at:
                self._send(("beat",))
                beat_at = now + beat_every
            if self.refused_at is not None and now - self.refused_at > REFUSE_LINGER_S:
                return "refused"

    def _from_task(self) -> None:
        try:
            os.read(self._wake_r, 512)
        except BlockingIOError:
            pass
        while self.inbox:
            item = self.inbox.popleft()
            if item[0] == "attach":
                self._attach(item[1])
            elif item[0] == "refuse":
                self._send(("refuse", self.id, item[1]))
                self.refused_at = time.monotonic()
            elif item[0] == "abort":
                raise _Aborted

    def _attach(self, flow: FlowProcess) -> None:
        self.flow = flow
        self._poll.register(flow.sock.fileno(), select.POLLIN)
        if flow.pidfd is not None:
            self._poll.register(flow.pidfd, select.POLLIN)
        for message in self.pending:
            self._to_flow(message)
        self.pending.clear()

    def _detach(self) -> FlowProcess | None:
        """The flow process, no longer watched (before it is closed, killed or given back)."""
        flow, self.flow = self.flow, None
        if flow is not None:
            for fd in (flow.sock.fileno(), flow.pidfd):
                if fd is not None and fd >= 0:
                    self._poll.unregister(fd)
        return flow

    def _from_engine(self, message: tuple) -> str | None:
        tag = message[0]
        if tag in (protocol.RUN, protocol.REPLY, protocol.STOP):
            self._to_flow(message)
            if tag == protocol.REPLY and self.seceded:
                # Forwarded first: the flow goes on at once; the slot follows when Dask has one.
                self.seceded = False
                self.commands.put("rejoin")
        elif tag == "signal":
            self._to_flow(message)
        elif tag == "secede":
            if not self.seceded:
                self.seceded = True
                self.commands.put("secede")
        elif tag == "release":
            return self._release()
        elif tag == "kill":
            flow = self._detach()
            if flow is not None:
                flow.kill()
            return "killed"
        elif tag == "refused":
            self._give_back()
            return "duplicate"
        return None

    def _to_flow(self, message: tuple) -> None:
        flow = self.flow
        if flow is None:
            if self.refused_at is None:
                self.pending.append(message)  # delivered once the flow process is attached
            return
        if message[0] == "signal":
            flow.signal(message[1])
            return
        try:
            protocol.send(flow.sock.fileno(), message)
        except OSError:
            pass  # it died: its pidfd / EOF says so next

    def _from_flow(self, flow: FlowProcess) -> bool:
        """Forward what the flow sent; True when its end is closed (it is gone)."""
        try:
            messages = protocol.read_messages(flow.sock.fileno())
        except (EOFError, OSError):
            return True
        self._forward(messages)
        return False

    def _forward(self, messages: list) -> None:
        for message in messages:
            if message[0] == protocol.DONE and message[1] == self.id:
                self.done = True
                self.retire = bool(message[5])
        if len(messages) == 1:
            self._send(messages[0])
        elif messages:
            self._send(None, data=b"".join(relay.frame(m) for m in messages))

    def _flow_gone(self, flow: FlowProcess) -> str | None:
        self._detach()
        # What it wrote before it died goes first: its last log lines, maybe its DONE.
        self._forward(protocol.read_remaining(flow.sock.fileno()))
        if not flow.reap(timeout=5.0):  # its socket closed but it runs on: not ours to keep
            flow.kill()
        code = flow.returncode  # None: unknown (its zygote died before it)
        if self.done:
            return None  # retired after its DONE, as asked: the engine releases the run next
        self._send(("exit", self.id, code, None))
        return "exited"

    def _release(self) -> str:
        flow = self._detach()
        if flow is None:
            return "refused" if self.refused_at is not None else "done"
        if self.done and not self.retire and flow.alive():
            self.plugin.flows.put(flow)
        elif self.done:
            self.plugin.flows.retire(flow)  # exits by itself after a retiring DONE
        else:
            flow.kill()  # released without a DONE: whatever it still does is not wanted
        return "done"

    def _give_back(self) -> None:
        """The run was not ours (refused): an attached, unused flow process goes back."""
        flow = self._detach()
        if flow is not None:
            self.plugin.flows.put(flow)

    def _engine_gone(self) -> str:
        flow = self._detach()
        if flow is not None:
            flow.kill()
        return "refused" if self.refused_at is not None else "engine gone"

    def _send(self, message, data: bytes | None = None) -> None:
        try:
            relay.send(self.sock, message, data=data)
        except OSError as exc:
            # The engine does not read (10 s) or the connection broke: as if it were gone.
            raise _EngineGone(str(exc)) from None


def greet(t, plugin: FlowdeskWorkerPlugin) -> socket.socket | None:
    """Connect to the ticket's engine and say hello; None when it closed at once."""
    try:
        context = plugin.ssl_context() if t.tls else None
        sock = relay.connect(t.relay, context)
    except (OSError, RuntimeError) as exc:
        # Raised, not returned: the engine's future shows it (when it still listens at all).
        raise ConnectionError(f"the worker {plugin.address} ({plugin.host}) cannot reach the "
                              f"engine's relay at {t.relay}: {exc}") from None
    _notice_a_vanished_engine(sock)
    try:
        relay.send(sock, ("hello", t.execution_id, t.attempt, t.token, plugin.address, plugin.host, plugin.version))
    except OSError:
        sock.close()
        return None
    return sock


def take_flow_process(t, plugin: FlowdeskWorkerPlugin) -> tuple[FlowProcess | None, str | None]:
    """A flow process for the ticket (the workspace's packages installed first), or why not."""
    from ..packages import PackagesError, cluster_sets

    try:
        site = cluster_sets.site_dir(t.packages)
    except PackagesError as exc:
        return None, (f"the worker {plugin.address} ({plugin.host}) could not install the "
                      f"workspace's packages: {exc}")
    try:
        return plugin.flows.take(plugin.key_for(t, site)), None
    except (OSError, RuntimeError) as exc:
        return None, f"the worker {plugin.address} ({plugin.host}) could not start a flow process: {exc}"


def _notice_a_vanished_engine(sock: socket.socket) -> None:
    """An engine whose machine vanishes (power, network) sends no FIN: without these the
    connection would look open for the kernel's ~15 minutes of retransmissions, and the flow
    would run on without its engine. The heartbeats keep data in flight, so TCP_USER_TIMEOUT
    ends the connection when the engine has acknowledged nothing for ENGINE_SILENT_S."""
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_USER_TIMEOUT", int(ENGINE_SILENT_S * 1000)), ("TCP_KEEPIDLE", 10),
                        ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):  # Linux; elsewhere the platform's defaults apply
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    for level, option, value in options:
        try:
            sock.setsockopt(level, option, value)
        except OSError:
            pass


class _EngineGone(Exception):
    pass


class _Aborted(Exception):
    pass


def _quietly(step) -> bool:
    """secede/rejoin; whether it worked. A failure costs a Dask slot's accounting, never the execution."""
    try:
        step()
    except Exception:
        log.exception("%s failed", step.__name__)
        return False
    return True
