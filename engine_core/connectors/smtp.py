"""The SMTP connector: send one mail (smtplib, email.message.EmailMessage).

``this.connect('SMTP', from_='...' or **{'from': ...}, to=[...], cc=..., bcc=..., subject=...,
text=..., html=..., smtp_host=..., smtp_port=587, login=..., password=..., use_tls=True)``
outputs ``message_id`` and ``recipients`` (every address the server accepted).

``text`` and ``html`` together make a multipart/alternative mail (mail programs show the HTML and
fall back to the text). ``use_tls`` means STARTTLS on the plain port (the certificate is checked
against the system's CAs, plus ``ca_file`` when given); ``bcc`` addresses receive
the mail but are not written into its headers."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flow_api import ConnectorError

from . import register
from .spec import Param


def smtp(this, params: dict) -> dict:
    sender = params.get("from") or params.get("from_")
    to, cc, bcc = (_addresses(params.get(k), k) for k in ("to", "cc", "bcc"))
    if not sender:
        raise ConnectorError("the SMTP connector needs from=... (the sender's address)")
    if not (to or cc or bcc):
        raise ConnectorError("the SMTP connector needs to=... (an address or a list of addresses)")
    host = params.get("smtp_host") or "localhost"
    port = int(params.get("smtp_port") or (587 if params.get("use_tls") else 25))
    message = _message(params, sender, to, cc)
    recipients = to + cc + bcc
    where = f"{host}:{port}"
    try:
        with smtplib.SMTP(host, port, timeout=float(params.get("timeout") or 30)) as server:
            if params.get("use_tls"):
                server.starttls(context=ssl.create_default_context(cafile=params.get("ca_file") or None))
            if params.get("login"):
                server.login(str(params["login"]), str(params.get("password") or ""))
            refused = server.send_message(message, from_addr=sender, to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise ConnectorError(f"SMTP connector: {where} refused the login of {params.get('login')!r} "
                             f"({_reply(exc)}); check login= and password=") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise ConnectorError(f"SMTP connector: {where} does not support what was asked ({exc}); "
                             f"STARTTLS needs use_tls=True on a server offering it, login= needs AUTH") from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused_all = ", ".join(f"{a} ({_code_text(r)})" for a, r in exc.recipients.items())
        raise ConnectorError(f"SMTP connector: {where} refused every recipient: {refused_all}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise ConnectorError(f"SMTP connector: {where} refused the sender {sender!r} ({_reply(exc)})") from None
    except smtplib.SMTPResponseException as exc:
        raise ConnectorError(f"SMTP connector: {where} answered {_reply(exc)}") from None
    except smtplib.SMTPException as exc:
        raise ConnectorError(f"SMTP connector: sending through {where} failed: {exc}") from None
    except ssl.SSLCertVerificationError as exc:
        raise ConnectorError(f"SMTP connector: the certificate of {where} is not trusted ({exc.verify_message}); "
                             f"for a server with a certificate of your own CA pass ca_file=...") from None
    except ssl.SSLError as exc:
        raise ConnectorError(f"SMTP connector: STARTTLS with {where} failed: {exc.reason or exc}") from None
    except (socket.timeout, TimeoutError):
        raise ConnectorError(f"SMTP connector: no answer from {where} within timeout=... s") from None
    except OSError as exc:
        raise ConnectorError(f"SMTP connector: cannot connect to the mail server {where}: {exc.strerror or exc}; "
                             f"check smtp_host= and smtp_port=") from None
    if refused:
        this.log("SMTP: some recipients were refused: "
                 + ", ".join(f"{a} ({_code_text(r)})" for a, r in refused.items()))
    return {"message_id": message["Message-ID"], "recipients": [r for r in recipients if r not in refused]}


def _message(params: dict, sender: str, to: list[str], cc: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    if to:
        message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = str(params.get("subject") or "")
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    text, html = params.get("text"), params.get("html")
    if text is None and html is not None:
        message.set_content(str(html), subtype="html")
        return message
    message.set_content(str(text or ""))
    if html is not None:
        message.add_alternative(str(html), subtype="html")
    return message


def _addresses(value, name: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.split(",") if a.strip()]
    if isinstance(value, (list, tuple)):
        return [str(a).strip() for a in value if str(a).strip()]
    raise ConnectorError(f"SMTP connector: {name}= must be an address or a list of addresses")


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return _code_text((exc.smtp_code, exc.smtp_error))


def _code_text(reply) -> str:
    code, text = reply
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return f"{code} {text}".strip()


register("SMTP", smtp, params=[
    Param("from", doc="the sender's address", aliases=("from_",)),
    Param("to", doc="an address or a list of addresses"),
    Param("cc", doc="addresses in copy"),
    Param("bcc", doc="addresses in blind copy (not written into the mail)"),
    Param("subject", doc="the subject line"),
    Param("text", doc="the plain text body"),
    Param("html", doc="the HTML body (with text: multipart/alternative)"),
    Param("smtp_host", doc="the mail server (default localhost)"),
    Param("smtp_port", doc="its port (default 587 with use_tls, else 25)"),
    Param("login", doc="the user name to authenticate with"),
    Param("password", secret=True, doc="the password for login"),
    Param("use_tls", doc="STARTTLS before sending (default False)"),
    Param("timeout", doc="seconds to wait for the server (default 30)"),
    Param("ca_file", doc="a CA certificate file (PEM) trusted for STARTTLS besides the system's (Flowdesk's own)"),
], doc="Send a mail through an SMTP server; outputs message_id and recipients.",
    one_of=(("from", "from_"), ("to", "cc", "bcc")))
