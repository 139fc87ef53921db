"""The SMTP connector through the real engine against a real aiosmtpd server on 127.0.0.1 that
keeps what it receives: text mail, HTML + text (multipart/alternative), cc/bcc, AUTH, and the
failures (wrong password, nothing listening) as failed connection executions with a clear message
and DependencyFailedError in the caller."""

from __future__ import annotations

import json

from api_support import find_nodes, run_flow
from support import free_port

SEND = """
import flow_api
def handler(system, this, inputs):
    try:
        result = this.connect('SMTP', inputs=inputs['params'])
        this.set_output(**result.get('output_value'))
    except flow_api.DependencyFailedError as exc:
        this.set_output(caught=str(exc))
"""


def _send(engine, workspace, params: dict):
    record, tree = run_flow(engine, workspace, "Send mail", SEND, inputs={"params": params})
    assert record["status"] == "success", record["message"]
    (connection,) = find_nodes(tree, kind="connection")
    return record["outputs"], connection


def test_a_text_mail_with_cc_and_bcc_arrives(engine, workspace, smtp_server):
    box = smtp_server
    out, connection = _send(engine, workspace, {
        "from": "flows@example.com", "to": "alice@example.com", "cc": ["carol@example.com"],
        "bcc": ["audit@example.com"], "subject": "Nightly report", "text": "All 12 jobs ran.\n",
        "smtp_host": box.host, "smtp_port": box.port})
    assert connection["status"] == "success", connection["message"]
    (received,) = box.messages
    assert received["from"] == "flows@example.com"
    assert received["login"] is None  # no login= given: no AUTH
    assert received["rcpt"] == ["alice@example.com", "carol@example.com", "audit@example.com"]
    mail = received["mail"]
    assert (mail["Subject"], mail["To"], mail["Cc"], mail["Bcc"]) == ("Nightly report", "alice@example.com",
                                                                      "carol@example.com", None)
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content() == "All 12 jobs ran.\n"
    assert out["message_id"] == mail["Message-ID"]
    assert out["recipients"] == received["rcpt"]


def test_html_and_text_make_a_multipart_alternative_mail_sent_with_auth(engine, workspace, smtp_server):
    box = smtp_server
    out, connection = _send(engine, workspace, {
        "from": "flows@example.com", "to": ["bob@example.com"], "subject": "Réport ✓",
        "text": "plain version\n", "html": "<p>html <b>version</b></p>\n",
        "smtp_host": box.host, "smtp_port": box.port, "login": "mailer", "password": "mail-pass"})
    assert connection["status"] == "success", connection["message"]
    (received,) = box.messages
    mail = received["mail"]
    assert received["login"] == "mailer"  # the server saw the AUTH login
    assert mail["Subject"] == "Réport ✓"
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail.get_body(("html",)).get_content() == "<p>html <b>version</b></p>\n"
    assert mail.get_body(("plain",)).get_content() == "plain version\n"
    assert connection["inputs"]["password"] == "********"
    assert "mail-pass" not in json.dumps(connection)


def test_a_wrong_password_fails_the_connection_without_showing_it(engine, workspace, smtp_server):
    box = smtp_server
    out, connection = _send(engine, workspace, {
        "from": "flows@example.com", "to": "bob@example.com", "subject": "x", "text": "x",
        "smtp_host": box.host, "smtp_port": box.port, "login": "mailer", "password": "not-the-pass"})
    assert "caught" in out, "the caller did not get DependencyFailedError"
    assert connection["status"] == "error"
    message = connection["message"]
    assert "SMTP connector" in message and "refused the login of 'mailer'" in message, message
    assert "check login= and password=" in message
    assert "not-the-pass" not in json.dumps(connection) and "not-the-pass" not in out["caught"]
    assert box.messages == []


def test_nothing_listening_fails_the_connection(engine, workspace):
    port = free_port()
    out, connection = _send(engine, workspace, {"from": "a@example.com", "to": "b@example.com", "text": "x",
                                                "smtp_host": "127.0.0.1", "smtp_port": port, "timeout": 5})
    assert "caught" in out
    assert connection["status"] == "error"
    assert f"cannot connect to the mail server 127.0.0.1:{port}" in connection["message"], connection["message"]
    assert "check smtp_host= and smtp_port=" in connection["message"]


def test_use_tls_against_a_server_without_starttls_says_so(engine, workspace, smtp_server):
    box = smtp_server
    out, connection = _send(engine, workspace, {"from": "a@example.com", "to": "b@example.com", "text": "x",
                                                "smtp_host": box.host, "smtp_port": box.port, "use_tls": True})
    assert connection["status"] == "error"
    assert "STARTTLS" in connection["message"], connection["message"]
    assert box.messages == []


def test_use_tls_checks_the_certificate_then_sends_after_starttls_and_logs_in(engine, workspace, smtp_tls_server):
    box = smtp_tls_server
    params = {"from": "a@example.com", "to": "b@example.com", "text": "secret\n", "smtp_host": box.host,
              "smtp_port": box.port, "use_tls": True, "login": "mailer", "password": "mail-pass"}
    out, untrusted = _send(engine, workspace, params)  # a self-signed certificate: not trusted by default
    assert untrusted["status"] == "error"
    assert "certificate of 127.0.0.1" in untrusted["message"] and "ca_file=" in untrusted["message"], \
        untrusted["message"]
    assert box.messages == []
    out, connection = _send(engine, workspace, {**params, "ca_file": box.cert_file})
    assert connection["status"] == "success", connection["message"]
    (received,) = box.messages
    assert received["login"] == "mailer"  # the server allows AUTH only after STARTTLS
    assert received["mail"].get_content() == "secret\n"
