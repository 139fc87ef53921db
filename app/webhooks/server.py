"""Serving the workspace's webhooks from the IDE: the Starlette app of ``flowdesk serve``
(engine_core/webhooks/app.py) run by uvicorn on a background thread, in front of the IDE's own
engine, so each call is an execution in the Executions tree as it runs. The socket is bound on
the caller's thread, so a port in use is an error at once rather than a log line later."""

from __future__ import annotations

import socket
import threading

from engine_core.errors import FlowdeskError

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
STOP_TIMEOUT_S = 10


class WebhookServer:
    """One running server; ``start`` then ``stop`` (which waits for the thread)."""

    def __init__(self, engine, port: int, host: str = HOST):
        self.engine = engine
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._sock: socket.socket | None = None
        self._server = None
        self._app = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        import uvicorn

        from engine_core.webhooks.app import WebhookApp

        self._sock = bind(self.host, self.requested_port)
        self.port = self._sock.getsockname()[1]
        self._app = WebhookApp(self.engine)
        # log_config=None: uvicorn would otherwise reconfigure the IDE's logging.
        config = uvicorn.Config(self._app.asgi(), log_config=None, log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"webhooks:{self.port}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._sock.close()

    def stop(self) -> None:
        """Ask uvicorn to finish (calls under way get up to five seconds) and wait for it."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
        if self._sock is not None:
            self._sock.close()
        if self._app is not None:
            self._app.close()


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise FlowdeskError(f"cannot serve webhooks on {host}:{port}: {exc.strerror}; another program (or "
                            f"'flowdesk serve') may use that port: pick another port in the Webhooks panel") from None
    sock.listen(256)
    return sock
