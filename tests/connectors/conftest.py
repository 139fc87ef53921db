"""Fixtures for the connector tests: real peers on 127.0.0.1 (an asyncssh SSH server, an aiosmtpd
mail server) and the engine tests' helpers (tests/engine/api_support.py) to run flows."""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))  # api_support
sys.path.insert(0, str(Path(__file__).resolve().parent))  # ssh_server

from ssh_server import SSHTestServer  # noqa: E402


@pytest.fixture
def ssh_server():
    """A running SSH server (see ssh_server.py); yields its SSHServerInfo."""
    server = SSHTestServer()
    info = server.start()
    yield info
    server.stop()


def free_port() -> int:
    """A port nothing listens on (bound and released; for 'connection refused' and for aiosmtpd,
    whose Controller cannot report the port it got for port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailBox:
    """The aiosmtpd handler: keeps every message it receives (envelope + parsed mail)."""

    def __init__(self):
        self.messages: list[dict] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        with self._lock:
            self.messages.append({"from": envelope.mail_from, "rcpt": list(envelope.rcpt_tos),
                                  "login": session.auth_data.login.decode() if session.authenticated else None,
                                  "mail": email.message_from_bytes(envelope.content.replace(b"\r\n", b"\n"),
                                                                   policy=policy.default)})
        return "250 Message accepted for delivery"


class _Auth:
    """aiosmtpd authenticator accepting one login/password."""

    def __init__(self, login: str, password: str):
        self.login, self.password = login, password

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.login
              and auth_data.password.decode() == self.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 that keeps what it receives; AUTH (PLAIN/LOGIN) accepted
    without TLS for user 'mailer' / 'mail-pass', and not required."""
    from aiosmtpd.controller import Controller

    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), authenticator=_Auth("mailer", "mail-pass"),
                            auth_require_tls=False, auth_required=False)
    controller.start()
    box.host, box.port = "127.0.0.1", controller.port
    yield box
    controller.stop()
