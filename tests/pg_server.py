"""A real PostgreSQL server for a test, started with initdb/pg_ctl on a free loopback port."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from contextlib import contextmanager

import pytest

from support import free_port


def _server_user():
    # PostgreSQL refuses to run as root; CI runs as root, so use an unprivileged account.
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    pytest.skip("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")


@contextmanager
def running_postgres(password: str | None = None):
    """Yield the port of a new server whose superuser is ``flowdesk``: trusted without a
    password, or checked against ``password`` (scram-sha-256). Skips the test without the
    server binaries; the server and its files are gone afterwards."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH")
    user = _server_user()
    base = tempfile.mkdtemp(prefix="flowdesk-pg-")
    os.chmod(base, 0o755)
    auth, owned = ["--auth=trust"], [base]
    if password is not None:
        pwfile = os.path.join(base, "pw")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        auth, owned = ["--auth=scram-sha-256", f"--pwfile={pwfile}"], [base, pwfile]
    if user:
        for path in owned:
            os.chown(path, user.pw_uid, user.pw_gid)
    data, log = os.path.join(base, "data"), os.path.join(base, "server.log")
    port = free_port()
    as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
    env = {**os.environ, "LC_ALL": "C"}
    subprocess.run([initdb, "-D", data, "-U", "flowdesk", *auth, "-E", "UTF8"], check=True,
                   capture_output=True, env=env, cwd=base, **as_user)
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([pg_ctl, "-D", data, "-o", options, "-l", log, "-w", "-t", "30", "start"], check=True,
                   capture_output=True, env=env, cwd=base, **as_user)
    try:
        yield port
    finally:
        subprocess.run([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True, env=env,
                       cwd=base, **as_user)
        shutil.rmtree(base, ignore_errors=True)


def new_database(server_url: str, name: str | None = None) -> str:
    """Create an empty database (``name``, or a new ``flowdesk_<hex>``) on the server at
    ``server_url`` (``postgresql://user@host:port``) and return its URL."""
    import psycopg

    name = name or f"flowdesk_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server_url}/{name}"
