"""The SHELL connector (Flowdesk's own): run a local command given as an argument list.

``this.connect('SHELL', command=['git', 'status'], cwd=..., env={...}, timeout=60, input='...',
check=True)`` outputs ``exit_code``, ``stdout`` and ``stderr``.

The command is never given to a shell: a string is refused, so a value from a flow's inputs
cannot smuggle ``; rm -rf ~`` into it (call ``['sh', '-c', script]`` explicitly to want a shell).
The command runs in its own process group so a timeout or a cancel kills everything it started,
not only the first process."""

from __future__ import annotations

import os
import signal
import subprocess

from flow_api import ConnectorError

from . import register
from .spec import Param

_TAIL = 500  # characters of stderr quoted in an error message


def shell(this, params: dict) -> dict:
    command = _command(params.get("command"))
    env = _environment(params.get("env"))
    timeout = params.get("timeout")
    text_input = params.get("input")
    check = params.get("check", True)
    cwd = params.get("cwd")
    try:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE if text_input is not None
                                   else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, encoding="utf-8", errors="replace", start_new_session=True)
    except FileNotFoundError as exc:
        missing = cwd if cwd and not os.path.isdir(cwd) else command[0]
        raise ConnectorError(f"SHELL connector: {missing!r} was not found ({exc.strerror}); check command= "
                             f"and cwd=") from None
    except OSError as exc:
        raise ConnectorError(f"SHELL connector: cannot start {command[0]!r}: {exc.strerror or exc}") from None
    try:
        stdout, stderr = process.communicate(text_input, timeout=float(timeout) if timeout is not None else None)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        this.set_output(exit_code=process.returncode, stdout=stdout, stderr=stderr)
        raise ConnectorError(f"SHELL connector: {_shown(command)} did not end within timeout={timeout} s; "
                             f"it was killed (with every process it started). Raise timeout= if it needs "
                             f"longer") from None
    except BaseException:  # a cancel of the execution arrives as an exception here: leave no process behind
        _kill_group(process)
        process.wait()
        raise
    outputs = {"exit_code": process.returncode, "stdout": stdout, "stderr": stderr}
    if check and process.returncode != 0:
        this.set_output(**outputs)  # the caller can still read stdout/stderr of the failed command
        tail = stderr.strip()[-_TAIL:]
        raise ConnectorError(f"SHELL connector: {_shown(command)} ended with exit code {process.returncode}"
                             + (f": {tail}" if tail else "") + " (pass check=False to accept a non-zero exit code)")
    return outputs


def _command(command) -> list[str]:
    if isinstance(command, (str, bytes)):
        raise ConnectorError("SHELL connector: pass command= as a list of arguments, e.g. command=['ls', '-l', path]; "
                             "a string is refused because it would need a shell to split it (and a shell would "
                             "run whatever a value put in it). For a shell script say command=['sh', '-c', script]")
    if not isinstance(command, (list, tuple)) or not command:
        raise ConnectorError("SHELL connector: command= must be a non-empty list of arguments, e.g. ['echo', 'hi']")
    return [os.fspath(part) if isinstance(part, os.PathLike) else str(part) for part in command]


def _environment(env) -> dict[str, str] | None:
    if env is None:
        return None
    if not isinstance(env, dict):
        raise ConnectorError("SHELL connector: env= must be a dict of variable names to values")
    merged = dict(os.environ)
    merged.update({str(k): str(v) for k, v in env.items()})
    return merged


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _shown(command: list[str]) -> str:
    text = " ".join(command)
    return repr(text if len(text) <= 120 else text[:117] + "...")


register("SHELL", shell, params=[
    Param("command", required=True, doc="the program and its arguments as a list, e.g. ['ls', '-l']; never a string"),
    Param("cwd", doc="the working directory (default: the engine worker's)"),
    Param("env", doc="environment variables (dict) set over the engine's environment"),
    Param("timeout", doc="seconds; the command and every process it started are killed when it is exceeded"),
    Param("input", doc="text written to the command's standard input"),
    Param("check", doc="True (default): a non-zero exit code fails the connection"),
], doc="Run a local command (an argument list, no shell); outputs exit_code, stdout, stderr.")
