"""Messages between the engine and a worker process, over a ``multiprocessing`` pipe.

engine -> worker
    ("run", execution_id, kind, target, path, source, inputs_json, debug, journal)
        kind "flow": target is the flow name, source its script;
        kind "connection": target is the connector type, source is None;
        debug: serve the Debug Adapter Protocol (debugpy) and wait for a client first;
        journal: a ``journal_keys.JournalPlan`` (resume or replay: the first calls are answered
        from it) or None. A worker also accepts the older 8-field RUN (no journal).
    ("reply", request_id, ok, value)     ok=False: value is (error class name, message);
        a reply {"inline": spec} to start_flow asks the worker to run the child itself
        (development mode, replays) and report it with its own "done"; spec may hold
        "journal": the child's JournalPlan.
    ("stop",)

worker -> engine
    ("call", request_id, execution_id, op, payload, seq, line, reattach)   a request that gets a reply
        seq: 1, 2, 3 ... per execution (the journal's seq); line: the flow file's line that made
        the call, or None; reattach: True when a resumed execution asks again for the call its
        journal holds as pending (the engine re-attaches to what it waited on, no new entry).
        Calls that are not flow API calls of the flow (``journal_end``, ``replay_child``) carry
        seq 0.
    ("note", execution_id, op, payload)                 fire-and-forget: log, message, output,
                                                        debug_listening {host, port},
                                                        journal_caught_up {seq}
    ("done", execution_id, status, message, traceback, retire)
                                                        the handler returned or raised; retire:
                                                        the worker exits after this (MemoryError...)

On the wire the messages are plain tuples with the fields of the NamedTuples below (the
shapes, for reading and type checking): a NamedTuple pickles with its class name and costs
~9 us more per message round trip, on the path every flow API call takes. Build them as
tuples (``(protocol.CALL, request_id, ...)``) and unpack them positionally; ``message[0]`` is
the tag.

On a Dask cluster (issue 12) a supervisor task on a Dask worker runs the flow process and
relays these same frames over TCP/TLS to the engine that submitted it
(``engine_core/cluster/relay.py``), adding messages of its own:

supervisor -> engine
    ("hello", execution_id, attempt, token, worker_address, host, flowdesk_version)
        first frame; the engine checks the ticket's token and claims the run (the attempt must
        still be the ticket's), then sends RUN, or ("refused", why)
    the flow's CALL / NOTE / DONE frames, verbatim
    ("exit", execution_id, returncode, reason)   the flow process is gone (reason: None, or
                                                 "cancelled through the cluster")
    ("refuse", execution_id, text)               it could not be started (packages, version):
                                                 the execution ends in error with ``text``
    ("beat",)                                    every heartbeat_s: the worker is alive

engine -> supervisor
    ("refused", why)          the claim failed (another run has it): the task returns "duplicate"
    RUN (after the claim commits), REPLY, STOP   verbatim
    ("signal", signum)        SIGTERM to the flow's process; other signals to its process group
    ("kill",)                 SIGKILL to its process group; the task ends
    ("secede",)               the execution blocks (a wait, lock, form, sleep): the task gives its
                              Dask thread back until the next REPLY
    ("release",)              the execution ended: its flow process goes back to the warm set

Frames are ``multiprocessing.Connection``'s (a "!i" length, or -1 and a "!Q" length, then a
pickle), so either end may use a plain Connection; the hot paths use :func:`send` and
:func:`read_messages`, which do the same with fewer syscalls and less Python.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
from typing import Any, NamedTuple

_SIZE = struct.Struct("!i")
_HUGE = struct.Struct("!Q")
_READ = 1 << 16

RUN = "run"
REPLY = "reply"
STOP = "stop"
CALL = "call"
NOTE = "note"
DONE = "done"


class Run(NamedTuple):
    tag: str  # RUN
    execution_id: int
    kind: str  # "flow" | "connection"
    target: str
    path: str | None
    source: str | None
    inputs_json: str
    debug: bool
    journal: Any = None  # journal_keys.JournalPlan | None


class Reply(NamedTuple):
    tag: str  # REPLY
    request_id: int
    ok: bool
    value: Any


class Stop(NamedTuple):
    tag: str  # STOP


class Call(NamedTuple):
    tag: str  # CALL
    request_id: int
    execution_id: int
    op: str
    payload: dict
    seq: int = 0
    line: int | None = None
    reattach: bool = False


class Note(NamedTuple):
    tag: str  # NOTE
    execution_id: int
    op: str
    payload: dict


class Done(NamedTuple):
    tag: str  # DONE
    execution_id: int
    status: str
    message: str | None
    traceback: str | None
    retire: bool


# Calls a worker makes that are not the flow's own (not journaled, seq 0).
JOURNAL_END = "journal_end"  # a replay reached the end of its recording: {seq, line, reason}
REPLAY_CHILD = "replay_child"  # a replay's recorded flow child: {original} -> {"inline": spec, "journal": plan}
SLEEP = "sleep"  # this.sleep / sleep_until: {until: epoch seconds (wall clock)}
# Notes.
JOURNAL_CAUGHT_UP = "journal_caught_up"  # {seq}: the journal is exhausted, calls act from here on


def send(fd: int, message: tuple) -> None:
    """Write ``message`` as one frame with one write (two for a huge one).

    ``Connection.send`` costs ~6 us more (its ForkingPickler and checks), on both ends of
    every flow API call. Only plain values travel here: no sockets or connections."""
    body = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    size = len(body)
    frame = _SIZE.pack(size) + body if size <= 0x7FFFFFFF else _SIZE.pack(-1) + _HUGE.pack(size) + body
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view):]


def read_messages(fd: int) -> list:
    """Every whole message a readable pipe holds, usually from one read.

    ``Connection.poll()`` builds a selector on each call and ``recv()`` reads a frame's length
    and its body apart: three syscalls and ~15 us for each message, on the dispatcher thread
    that every waiting execution waits for. A message not wholly arrived yet is read to its
    end (blocking, as ``Connection.recv`` would). EOFError when the pipe is closed. Only for a
    reader that owns the pipe's incoming side alone: what it reads past one frame is not
    left for a ``Connection.recv`` (the engine's end, not the worker's)."""
    data = os.read(fd, _READ)
    if not data:
        raise EOFError
    messages, at = [], 0
    while at < len(data):
        data = _at_least(fd, data, at + _SIZE.size)
        (size,) = _SIZE.unpack_from(data, at)
        at += _SIZE.size
        if size == -1:
            data = _at_least(fd, data, at + _HUGE.size)
            (size,) = _HUGE.unpack_from(data, at)
            at += _HUGE.size
        data = _at_least(fd, data, at + size)
        messages.append(pickle.loads(data[at:at + size]))
        at += size
    return messages


def read_remaining(fd: int) -> list:
    """After the writer died: every whole message still in the pipe or socket (its last log
    lines, maybe its result), in order; whatever cannot be read ends the list."""
    found: list = []
    try:
        readable = select.poll()
        readable.register(fd, select.POLLIN)
        while readable.poll(0):
            found.extend(read_messages(fd))
    except (EOFError, OSError, ValueError):  # closed, or a closed fd (-1)
        pass
    return found


def _at_least(fd: int, data: bytes, length: int) -> bytes:
    while len(data) < length:
        more = os.read(fd, max(length - len(data), _READ))
        if not more:
            raise OSError("the pipe ended in the middle of a message")
        data += more
    return data
