"""The relay: frames between an engine and the supervisors of its executions, over TCP or TLS.

The frames are ``protocol.py``'s (a ``!i`` length, or -1 and a ``!Q`` length, then a pickle),
so a supervisor forwards a flow process's pipe frames verbatim and the dispatcher reads a
remote execution as it reads a local worker. The relay's own messages (hello, beat, exit,
refuse / refused, kill, secede, release) are listed in ``protocol.py``'s docstring.

Sockets here are non-blocking once connected: the engine's dispatcher thread and a
supervisor's loop both ``select`` on them and read what has arrived (:class:`FrameReader`),
never waiting for the rest of a frame. TLS sockets work the same way; a TLS handshake is
driven by the first reads (the listener never blocks on a slow or silent client).

Security: on ``tls://`` both ends present certificates signed by the cluster's CA (mutual
TLS, the same certificates Dask uses). On ``tcp://`` the ticket's 128-bit token is the only
credential: plain TCP is for trusted networks, as Dask's own tcp:// is.
"""

from __future__ import annotations

import errno
import io
import logging
import pickle
import select
import socket
import ssl
import struct
import time

_SIZE = struct.Struct("!i")
_HUGE = struct.Struct("!Q")
_CHUNK = 1 << 16
SEND_TIMEOUT_S = 10.0
"""How long :func:`send` waits for a peer that stops reading before calling the connection dead."""
_AGAIN = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)

log = logging.getLogger(__name__)


def listen(host: str, ssl_ctx: ssl.SSLContext | None = None) -> socket.socket:
    """A non-blocking listener on ``host`` and a free port (``getsockname()`` tells which).
    ``ssl_ctx`` is kept for :func:`accept`: each accepted socket is wrapped on its own, so a
    handshake never blocks the listener."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, 0), family=family, backlog=256)
    sock.setblocking(False)
    return sock


def accept(listener: socket.socket, ssl_ctx: ssl.SSLContext | None = None) -> socket.socket | None:
    """The next waiting connection, non-blocking (TLS: its handshake is driven by
    :meth:`FrameReader.read`), or None when nobody is waiting."""
    try:
        sock, _ = listener.accept()
    except _AGAIN:
        return None
    except ConnectionAbortedError:  # that one gave up already: the next
        return accept(listener, ssl_ctx)
    try:
        sock.setblocking(False)
        _no_delay(sock)
        if ssl_ctx is not None:
            sock = ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
    except BaseException:
        sock.close()
        raise
    return sock


def connect(address: str, ssl_ctx: ssl.SSLContext | None = None, timeout: float = 5.0) -> socket.socket:
    """A connection to ``host:port`` (TLS when ``ssl_ctx``), handshake done, then non-blocking.
    OSError (ConnectionRefusedError, TimeoutError, ssl.SSLError) when it cannot be made."""
    host, port = split_address(address)
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        _no_delay(sock)
        if ssl_ctx is not None:
            sock = ssl_ctx.wrap_socket(sock, server_side=False)  # handshake within `timeout`
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` / ``[v6]:port`` / ``tcp://host:port`` → (host, port)."""
    address = address.split("://", 1)[-1]
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def frame(message) -> bytes:
    body = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    size = len(body)
    if size <= 0x7FFFFFFF:
        return _SIZE.pack(size) + body
    return _SIZE.pack(-1) + _HUGE.pack(size) + body


def send(sock: socket.socket, message, *, data: bytes | None = None, timeout: float = SEND_TIMEOUT_S) -> None:
    """Send one message as one frame (or ``data``: frames built already, e.g. forwarded as
    read from a flow's pipe). Usually one ``send``; a peer whose buffers are full is waited
    for until it has read nothing for ``timeout`` s, then ConnectionError. Works on TLS
    sockets (which have no raw-fd write)."""
    view = memoryview(frame(message) if data is None else data)
    deadline = None
    while view:
        try:
            view = view[sock.send(view):]
            deadline = None  # it reads: a large frame to a slow peer is not a dead peer
            continue
        except ssl.SSLWantReadError:
            events = select.POLLIN
        except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError):
            events = select.POLLOUT
        now = time.monotonic()
        deadline = deadline or now + timeout
        if now >= deadline:
            raise ConnectionError(f"the relay peer read nothing for {timeout:g} s")
        _wait(sock, events, deadline - now)


def _wait(sock: socket.socket, events: int, timeout: float) -> None:
    # poll, not select: a busy Dask worker (or an engine with many runs) has fds past 1024,
    # which select refuses with ValueError.
    poller = select.poll()
    try:
        poller.register(sock, events)
    except ValueError:  # closed meanwhile (fileno -1): callers expect OSError of a dead peer
        raise ConnectionError("the relay connection was closed") from None
    poller.poll(timeout * 1000)


def readable(socks: list) -> set:
    """Those of ``socks`` with something to read now (or at EOF), without waiting."""
    found = {sock for sock in socks if isinstance(sock, ssl.SSLSocket) and sock.pending()}
    poller, by_fd = select.poll(), {}
    for sock in socks:
        fd = sock.fileno()
        if fd >= 0 and sock not in found:
            by_fd[fd] = sock
            poller.register(fd, select.POLLIN)
    found.update(by_fd[fd] for fd, _ in poller.poll(0))
    return found


class FrameReader:
    """Whole frames from a non-blocking socket, as they arrive; a partial frame waits in a
    buffer for the next :meth:`read`. Reads until the kernel has no more (a short read) and,
    on TLS, until the SSL object holds no decrypted bytes either: ``select`` cannot see those,
    so leaving them would stall the connection."""

    __slots__ = ("sock", "_buffer", "_eof", "_tls", "_handshaken", "why", "trusted")

    def __init__(self, sock: socket.socket, *, trusted: bool = True) -> None:
        self.sock = sock
        self._buffer = b""
        self._eof = False
        self._tls = isinstance(sock, ssl.SSLSocket)
        self._handshaken = not self._tls
        self.why: str | None = None  # how the connection ended (for messages), once it has
        # Untrusted (a connection to the engine that has not shown a ticket's token yet):
        # frames are small and hold plain values only. A pickle may name any class and run
        # code as it loads; on plain tcp:// anybody who reaches the port could send one.
        self.trusted = trusted

    def read(self) -> list:
        """Every whole frame readable now (maybe none). EOFError once the peer has closed and
        every frame before the close was returned."""
        if self._eof:
            raise EOFError(self.why)
        if not self._handshaken and not self._handshake():
            return []
        chunks, sock = [self._buffer], self.sock
        while True:
            try:
                chunk = sock.recv(_CHUNK)
            except _AGAIN:
                break
            except (OSError, ssl.SSLError) as exc:
                self._end(f"the connection failed: {_describe(exc)}")
                break
            if not chunk:
                self._end("the connection was closed")
                break
            chunks.append(chunk)
            if len(chunk) < _CHUNK and not (self._tls and sock.pending()):
                break
        self._buffer = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            messages = self._parse()
        except (pickle.UnpicklingError, ValueError, EOFError, TypeError) as exc:
            self._end(f"it sent what is not a Flowdesk relay frame ({exc})")
            self._buffer = b""
            raise EOFError(self.why) from None
        if self._eof and not messages:
            raise EOFError(self.why)
        return messages

    def _parse(self) -> list:
        data, at, messages = self._buffer, 0, []
        end = len(data)
        while end - at >= _SIZE.size:
            (size,) = _SIZE.unpack_from(data, at)
            head = _SIZE.size
            if size == -1:
                if end - at < head + _HUGE.size:
                    break
                (size,) = _HUGE.unpack_from(data, at + head)
                head += _HUGE.size
            if not self.trusted and size > UNTRUSTED_MAX:
                raise ValueError(f"a frame of {size} bytes before the hello was accepted")
            if end - at < head + size:
                break
            body = data[at + head:at + head + size]
            messages.append(pickle.loads(body) if self.trusted else _plain_loads(body))
            at += head + size
        self._buffer = data[at:] if at else data
        return messages

    def _handshake(self) -> bool:
        try:
            self.sock.do_handshake()
        except _AGAIN:
            return False
        except (OSError, ssl.SSLError) as exc:
            self._end(f"the TLS handshake failed: {_describe(exc)}")
            raise EOFError(self.why) from None
        self._handshaken = True
        return True

    def _end(self, why: str) -> None:
        self._eof = True
        self.why = self.why or why


def _no_delay(sock: socket.socket) -> None:
    # Frames are small and each waits for an answer: Nagle's delay would add up to 40 ms
    # to every flow API call of a remote execution.
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # pragma: no cover - not TCP
        pass


UNTRUSTED_MAX = 1 << 16
"""The largest frame an untrusted connection may send (a hello is ~200 bytes)."""


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"{module}.{name} in a frame before the hello was accepted")


def _plain_loads(body: bytes):
    """Unpickle plain values only (tuples, strings, numbers, None...): no class is looked up."""
    return _PlainUnpickler(io.BytesIO(body)).load()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    return exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc) or type(exc).__name__


def route_to(host: str, port: int = 80) -> str:
    """This machine's address on the interface that routes to ``host`` (where a worker that
    reaches the scheduler can most likely reach this engine too). No packet is sent."""
    if host in ("localhost", "127.0.0.1", "::1"):
        return "127.0.0.1" if host != "::1" else "::1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_DGRAM)
    try:
        probe.connect((host, port))
        return probe.getsockname()[0]
    except OSError:
        return socket.gethostbyname(socket.gethostname())
    finally:
        probe.close()


# --- TLS contexts -------------------------------------------------------------------------------

def server_context(tls, role: str = "client") -> ssl.SSLContext:
    """The engine's listener context: its certificate, and every supervisor must present one
    signed by the cluster's CA (mutual TLS). ``tls``: a Dask ``Security`` (the engine's
    ``client`` role: Dask builds the context, in-memory certificates included), or
    (ca, cert, key) paths / PEM texts."""
    if hasattr(tls, "get_listen_args"):
        context = tls.get_listen_args(role)["ssl_context"]
        if context is None:
            raise ssl.SSLError("tls:// needs certificates: Dask's security settings name none for the "
                               f"{role} role (tls_ca, tls_cert, tls_key)")
        return context
    return _context(ssl.Purpose.CLIENT_AUTH, *tls)


def client_context(tls, role: str = "worker") -> ssl.SSLContext:
    """A supervisor's context: the worker's certificate (its Dask ``Security``, role
    ``worker``, or (ca, cert, key)); the engine's must be signed by the CA."""
    if hasattr(tls, "get_connection_args"):
        context = tls.get_connection_args(role)["ssl_context"]
        if context is None:
            raise ssl.SSLError(f"tls:// needs certificates: Dask's security settings name none for the {role} role")
        return context
    return _context(ssl.Purpose.SERVER_AUTH, *tls)


def _context(purpose: ssl.Purpose, ca: str, cert: str, key: str | None) -> ssl.SSLContext:
    """As Dask's own (``Security._get_tls_context``), so that certificates good for the
    cluster are good for the relay: CA as a path or PEM text, mutual authentication, no host
    name check (engines and workers are reached by IP; the CA is the cluster's own)."""
    if "\n" in ca:
        context = ssl.create_default_context(purpose, cadata=ca)
    else:
        context = ssl.create_default_context(purpose, cafile=ca)
    context.check_hostname = False
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context


class RelayServer:
    """The engine's end: a listener, the connections that have not said hello yet, and the
    sockets of finished runs, drained until the supervisor closes them (closing first, with
    its unread frames, would reset the connection and could lose our last frame: "release").

    :meth:`poll` returns each new connection's first frames, read as untrusted (plain values,
    small); who may connect is the caller's decision (it knows the tickets): :meth:`refuse`, or
    keep the socket and set its reader's ``trusted``."""

    HELLO_S = 10.0  # a connection silent for this long after connecting is dropped
    CLOSING_S = 5.0  # how long a finished run's socket is drained before it is closed anyway
    ACCEPT_PAUSE_S = 1.0  # after accept failed (EMFILE...): the listener is not watched for this long

    def __init__(self, host: str, ssl_ctx: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_ctx
        try:
            self.listener = listen(host)
        except OSError:  # an advertised name that is not this machine's interface (NAT): all of them
            self.listener = listen("0.0.0.0")
        self.address = join_address(host, self.listener.getsockname()[1])
        self._hellos: dict[socket.socket, tuple[FrameReader, float]] = {}
        self._closing: dict[socket.socket, float] = {}
        self._accept_at = 0.0  # the listener is watched again from then (see _accept)
        self._warned_at = float("-inf")

    def waitables(self) -> list:
        listening = [self.listener] if time.monotonic() >= self._accept_at else []
        return [*listening, *self._hellos, *self._closing]

    def poll(self, ready: list) -> list[tuple[socket.socket, FrameReader, list]]:
        """(socket, its reader, its first frames) of connections whose first frames came."""
        hellos = []
        for obj in ready:
            if obj is self.listener:
                now = time.monotonic()
                while (sock := self._accept(now)) is not None:
                    self._hellos[sock] = (FrameReader(sock, trusted=False), now)
                    self._read_hello(sock, hellos)  # usually here already
            elif obj in self._hellos:
                self._read_hello(obj, hellos)
            elif obj in self._closing:
                self._drain(obj)
        return hellos

    def _accept(self, now: float) -> socket.socket | None:
        """The next connection, or None. Out of file descriptors (EMFILE, ENFILE) the listener
        stays readable: instead of failing (or spinning) every round, it is left alone for
        ACCEPT_PAUSE_S while runs end and give theirs back; the waiting peers stay queued."""
        try:
            return accept(self.listener, self._ssl)
        except OSError as exc:
            self._accept_at = now + self.ACCEPT_PAUSE_S
            if now - self._warned_at > 60.0:
                self._warned_at = now
                log.warning("the relay cannot accept connections (%s); retrying every %g s",
                            _describe(exc), self.ACCEPT_PAUSE_S)
            return None

    def _read_hello(self, sock: socket.socket, hellos: list) -> None:
        reader, _ = self._hellos[sock]
        try:
            frames = reader.read()
        except EOFError:
            del self._hellos[sock]
            sock.close()
            return
        if frames:
            del self._hellos[sock]
            hellos.append((sock, reader, frames))

    def refuse(self, sock: socket.socket, why: str, timeout: float = SEND_TIMEOUT_S) -> None:
        try:
            send(sock, ("refused", why), timeout=timeout)
        except OSError:
            sock.close()
            return
        self.close_later(sock)

    def close_later(self, sock: socket.socket) -> None:
        self._closing[sock] = time.monotonic() + self.CLOSING_S

    def expire(self, now: float) -> None:
        for sock, (_, since) in list(self._hellos.items()):
            if now - since > self.HELLO_S:
                del self._hellos[sock]
                sock.close()
        for sock, deadline in list(self._closing.items()):
            if now > deadline:
                del self._closing[sock]
                sock.close()

    def _drain(self, sock: socket.socket) -> None:
        try:
            while sock.recv(_CHUNK):
                pass
        except _AGAIN:
            return
        except OSError:
            pass
        del self._closing[sock]
        sock.close()

    def close(self) -> None:
        for sock in [*self._hellos, *self._closing, self.listener]:
            try:
                sock.close()
            except OSError:
                pass
        self._hellos.clear()
        self._closing.clear()
