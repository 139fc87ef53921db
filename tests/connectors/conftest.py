"""Fixtures for the connector tests: real peers on 127.0.0.1 (an asyncssh SSH server, an aiosmtpd
mail server) and the engine tests' helpers (tests/engine/api_support.py) to run flows."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))  # api_support
sys.path.insert(0, str(Path(__file__).resolve().parent))  # ssh_server

from ssh_server import SSHTestServer  # noqa: E402
from support import free_port  # noqa: E402


@pytest.fixture
def ssh_server():
    """A running SSH server (see ssh_server.py); yields its SSHServerInfo."""
    server = SSHTestServer()
    info = server.start()
    yield info
    server.stop()


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


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def smtp_tls_server(tmp_path_factory):
    """Like smtp_server, offering STARTTLS with a self-signed certificate for 127.0.0.1 (its file
    is ``box.cert_file``) and allowing AUTH only after STARTTLS."""
    import ssl

    from aiosmtpd.controller import Controller

    cert_file, key_file = _self_signed(tmp_path_factory.mktemp("smtp-tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), authenticator=_Auth("mailer", "mail-pass"),
                            tls_context=context, auth_require_tls=True, auth_required=False)
    controller.start()
    box.host, box.port, box.cert_file = "127.0.0.1", controller.port, str(cert_file)
    yield box
    controller.stop()
