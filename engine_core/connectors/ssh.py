"""The SSH connector: run a script on a remote host (asyncssh).

``this.connect('SSH', host=..., username=..., password=... or key=..., hostkey=..., script=...)``
outputs ``report`` (what the script printed: stdout, then stderr), ``retcode`` and ``var``.

Output variables, as Cloudomation documents them: a line ``#OUTPUT_VAR(NAME)`` in the script (a
shell comment, so the script stays valid) registers the shell variable ``NAME``; its value when
the script ends is ``var['NAME']``. They are read by an EXIT trap added in front of the script,
which prints them after a random marker that is then cut out of the report (so ``exit 0`` in the
middle of a script still returns them; a script that sets its own EXIT trap replaces ours).

Host keys: with ``hostkey='ssh-ed25519 AAAA...'`` (``ssh-keyscan HOST`` prints it) the server
must present that key, else the connection fails. Without it the key is accepted unchecked and
not remembered anywhere ("accept-new into nothing"), and the connection's log says which key was
accepted so it can be pinned.

Files: ``output_files=[remote paths]`` returns their text in ``files``; ``copy_files=[remote
paths]`` copies them (SFTP, after the script) into the local directory ``destination_location``."""

from __future__ import annotations

import asyncio
import os
import re
import uuid

from flow_api import ConnectorError

from . import register
from .spec import Param

_OUTPUT_VAR = re.compile(r"^\s*#OUTPUT_VAR\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_KEY_TYPES = ("ssh-", "ecdsa-", "sk-")
_TAIL = 500


def ssh(this, params: dict) -> dict:
    host = params.get("host") or params.get("hostname")
    if not host:
        raise ConnectorError("the SSH connector needs host=... (or hostname=...)")
    if not params.get("username"):
        raise ConnectorError("the SSH connector needs username=...")
    if not params.get("password") and not params.get("key"):
        raise ConnectorError("the SSH connector needs password=... or key=... (a private key's text)")
    port = int(params.get("port") or 22)
    where = f"{params['username']}@{host}:{port}"
    outputs = asyncio.run(_session(this, params, host, port, where))
    if outputs["retcode"] != 0:
        this.set_output(**outputs)  # the report stays readable on the failed connection
        tail = outputs["report"].strip()[-_TAIL:]
        raise ConnectorError(f"SSH connector: the script on {where} ended with exit code {outputs['retcode']}"
                             + (f": {tail}" if tail else ""))
    return outputs


async def _session(this, params: dict, host: str, port: int, where: str) -> dict:
    import asyncssh  # here, not at the top: importing it costs ~0.3 s every other connector would pay
    options = dict(username=params["username"], known_hosts=_known_hosts(params.get("hostkey")),
                   password=params.get("password") or None, client_keys=_client_keys(params.get("key")),
                   agent_path=None, config=None, connect_timeout=float(params.get("connect_timeout") or 30))
    try:
        conn = await asyncssh.connect(host, port, **options)
    except asyncssh.PermissionDenied:
        raise ConnectorError(f"SSH connector: {where} refused the login of {params['username']!r} (wrong "
                             f"password or key, or the user may not log in); "
                             f"check username=, password=, key=") from None
    except asyncssh.HostKeyNotVerifiable:
        raise ConnectorError(f"SSH connector: the host key of {host}:{port} does not match hostkey=...; the server "
                             f"is not the one pinned (or its key changed): check with 'ssh-keyscan -p {port} "
                             f"{host}' before updating hostkey=") from None
    except (asyncio.TimeoutError, TimeoutError):
        raise ConnectorError(f"SSH connector: no SSH answer from {host}:{port} within connect_timeout="
                             f"{options['connect_timeout']} s") from None
    except asyncssh.Error as exc:
        raise ConnectorError(f"SSH connector: connecting to {where} failed: {exc.reason}") from None
    except OSError as exc:
        raise ConnectorError(f"SSH connector: cannot connect to {host}:{port}: {exc.strerror or exc}; is an SSH "
                             f"server listening there?") from None
    async with conn:
        if not params.get("hostkey"):
            key = conn.get_server_host_key()
            shown = key.export_public_key().decode().strip() if key else "(none)"
            this.log(f"SSH: no hostkey= given, so the host key of {host}:{port} was accepted unchecked: {shown} "
                     f"- pass it as hostkey= to make sure it is that server next time")
        outputs = await _run_script(conn, params, where) if params.get("script") else \
            {"report": "", "retcode": 0, "var": {}}
        if params.get("output_files") or params.get("copy_files"):
            outputs.update(await _files(conn, params, where))
    return outputs


async def _run_script(conn, params: dict, where: str) -> dict:
    import asyncssh
    script = str(params["script"])
    names = list(dict.fromkeys(_OUTPUT_VAR.findall(script)))
    marker = f"@@flowdesk-{uuid.uuid4().hex}@@"
    timeout = float(params.get("script_timeout") or 60)
    encoding = params.get("encoding") or "utf-8"
    try:
        result = await conn.run(_with_trap(script, names, marker), timeout=timeout, check=False,
                                encoding=encoding, errors="replace")
    except asyncssh.TimeoutError as exc:
        partial = _clean(str(exc.stdout or "").split("\n" + marker)[0], params)
        raise ConnectorError(f"SSH connector: the script on {where} did not end within script_timeout={timeout:g} s "
                             f"(the session was closed); output so far: {partial.strip()[-_TAIL:]!r}") from None
    except asyncssh.Error as exc:
        raise ConnectorError(f"SSH connector: running the script on {where} failed: {exc.reason}") from None
    stdout, found = _split_vars(result.stdout or "", marker)
    report = stdout + (result.stderr or "")
    retcode = result.exit_status if result.exit_status is not None else -1
    return {"report": _clean(report, params), "retcode": retcode, "var": {n: found.get(n, "") for n in names}}


def _with_trap(script: str, names: list[str], marker: str) -> str:
    if not names:
        return script
    prints = "".join(f"printf '\\n%s %s\\n%s' '{marker}' '{n}' \"${{{n}}}\"; " for n in names)
    return f"__flowdesk_vars() {{ {prints}printf '\\n%s\\n' '{marker}'; }}\ntrap __flowdesk_vars EXIT\n{script}"


def _split_vars(stdout: str, marker: str) -> tuple[str, dict[str, str]]:
    """The script's own output, and the variables the trap printed after it."""
    head, sep, tail = stdout.partition("\n" + marker + " ")
    if not sep:
        return stdout, {}
    found = {}
    for block in tail.split("\n" + marker + " "):
        name, _, value = block.partition("\n")
        found[name] = value.split("\n" + marker)[0]
    return head, found


def _clean(text: str, params: dict) -> str:
    if params.get("remove_cr", True):
        text = text.replace("\r", "")
    if params.get("remove_ansi_escapes", True):
        text = _ANSI.sub("", text)
    return text


async def _files(conn, params: dict, where: str) -> dict:
    import asyncssh
    outputs: dict = {}
    encoding = params.get("encoding") or "utf-8"
    try:
        async with conn.start_sftp_client() as sftp:
            if params.get("output_files"):
                files = {}
                for path in _paths(params["output_files"], "output_files"):
                    async with sftp.open(path, "rb") as remote:
                        files[path] = (await remote.read()).decode(encoding, errors="replace")
                outputs["files"] = files
            if params.get("copy_files"):
                target = params.get("destination_location")
                if not target:
                    raise ConnectorError("SSH connector: copy_files= needs destination_location= (a local directory)")
                os.makedirs(target, exist_ok=True)
                copied = []
                for path in _paths(params["copy_files"], "copy_files"):
                    local = os.path.join(target, os.path.basename(path.rstrip("/")))
                    await sftp.get(path, local)
                    copied.append(local)
                outputs["copied_files"] = copied
    except asyncssh.SFTPError as exc:
        raise ConnectorError(f"SSH connector: copying files from {where} failed: {exc.reason}") from None
    except (asyncssh.Error, OSError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise ConnectorError(f"SSH connector: copying files from {where} failed: {reason}") from None
    return outputs


def _paths(value, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise ConnectorError(f"SSH connector: {name}= must be a list of remote paths")
    return [str(v) for v in value]


def _known_hosts(hostkey):
    """None (accept any key) or the pinned keys, one per line, as ``ssh-keyscan`` prints them."""
    import asyncssh
    if not hostkey:
        return None
    keys = []
    for line in str(hostkey).strip().splitlines():
        words = line.split()
        if words and not words[0].startswith(_KEY_TYPES):
            words = words[1:]  # "host ssh-ed25519 AAAA..." as ssh-keyscan and known_hosts write it
        if not words or line.lstrip().startswith("#"):
            continue
        try:
            keys.append(asyncssh.import_public_key(" ".join(words[:2])))
        except (asyncssh.KeyImportError, ValueError):
            raise ConnectorError("SSH connector: hostkey= is not a public key; pass the server's key as "
                                 "'ssh-ed25519 AAAA...' (ssh-keyscan HOST prints it)") from None
    return (keys, [], [])


def _client_keys(key):
    import asyncssh
    if not key:
        return None
    try:
        return [asyncssh.import_private_key(str(key))]
    except (asyncssh.KeyImportError, ValueError):
        raise ConnectorError("SSH connector: key= is not a private key that can be read (pass the text of an "
                             "OpenSSH or PEM private key without a passphrase)") from None


register("SSH", ssh, params=[
    Param("host", doc="the remote host name or IP address", aliases=("hostname",)),
    Param("port", doc="the SSH port (default 22)"),
    Param("username", required=True, doc="the user to log in as"),
    Param("password", secret=True, doc="the user's password (or key=)"),
    Param("key", secret=True, doc="the text of a private key without passphrase (or password=)"),
    Param("hostkey", doc="the server's public host key to pin ('ssh-ed25519 AAAA...'); without it any key is accepted"),
    Param("script", doc="the script run by the remote user's shell; #OUTPUT_VAR(NAME) lines fill var"),
    Param("script_timeout", doc="seconds the script may run (default 60)"),
    Param("connect_timeout", doc="seconds to wait for the server (default 30)"),
    Param("remove_cr", doc="remove carriage returns from the report (default True)"),
    Param("remove_ansi_escapes", doc="remove ANSI escape sequences from the report (default True)"),
    Param("encoding", doc="the encoding of the script's output and of output_files (default utf-8)"),
    Param("output_files", doc="remote paths whose text is returned in files (after the script)"),
    Param("copy_files", doc="remote paths copied into destination_location (after the script)"),
    Param("destination_location", doc="the local directory copy_files go to"),
], doc="Run a script on a remote host over SSH; outputs report, retcode, var (#OUTPUT_VAR) and files.",
    one_of=(("host", "hostname"), ("password", "key")))
