"""A real SSH server for tests: asyncssh on 127.0.0.1 (a free port), in a background thread with
its own event loop.

It accepts one user with a password and/or public keys, runs each received command with
/bin/sh on this machine (so a script really executes), and serves SFTP on the local file system.
When the client closes the channel (a script timeout), the command's process group is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from dataclasses import dataclass, field

import asyncssh


@dataclass
class SSHServerInfo:
    host: str
    port: int
    username: str
    password: str
    client_key: str  # a private key (OpenSSH text) the server accepts
    host_public_key: str  # the server's host key, "ssh-ed25519 AAAA..."
    other_host_public_key: str  # a host key the server does NOT have (to test pinning)
    commands: list[str] = field(default_factory=list)  # every command received, in order


class _Server(asyncssh.SSHServer):
    def __init__(self, info: SSHServerInfo):
        self._info = info

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._info.username and password == self._info.password


class SSHTestServer:
    def __init__(self, username: str = "tester", password: str = "s3cret-pass"):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ssh-test-server", daemon=True)
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        other = asyncssh.generate_private_key("ssh-ed25519")
        self.info = SSHServerInfo(
            host="127.0.0.1", port=0, username=username, password=password,
            client_key=client_key.export_private_key().decode(),
            host_public_key=host_key.export_public_key().decode().strip(),
            other_host_public_key=other.export_public_key().decode().strip())
        self._host_key = host_key
        self._authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())
        self._acceptor = None

    def start(self) -> SSHServerInfo:
        self._thread.start()
        self._acceptor = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(30)
        self.info.port = self._acceptor.get_port()
        return self.info

    async def _listen(self):
        return await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[self._host_key], authorized_client_keys=self._authorized,
            server_factory=lambda: _Server(self.info), process_factory=self._run_command,
            sftp_factory=True, allow_scp=True, encoding=None)

    async def _run_command(self, process: asyncssh.SSHServerProcess) -> None:
        command = process.command or "exec /bin/sh"
        self.info.commands.append(command)
        local = await asyncio.create_subprocess_shell(
            command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        await process.redirect(stdin=local.stdin)
        # Output is copied by hand (not redirected) so that all of it is sent before the exit status.
        output = asyncio.ensure_future(asyncio.gather(_copy(local.stdout, process.stdout),
                                                      _copy(local.stderr, process.stderr)))
        closed = asyncio.ensure_future(process.wait_closed())
        await asyncio.wait({output, closed}, return_when=asyncio.FIRST_COMPLETED)
        if not output.done():  # the client went away (e.g. its script timeout): stop what it started
            try:
                os.killpg(local.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            output.cancel()
            await asyncio.gather(output, return_exceptions=True)  # collect the cancelled copy tasks
            await local.wait()
        else:
            process.exit(await local.wait())
        await closed  # also runs asyncssh's clean-up of the stdin redirection

    def stop(self) -> None:
        async def close():
            self._acceptor.close()
            await self._acceptor.wait_closed()

        if self._acceptor is not None:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()


async def _copy(reader: asyncio.StreamReader, writer) -> None:
    while chunk := await reader.read(65536):
        writer.write(chunk)
