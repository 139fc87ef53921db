"""The floor under bench_flow_api's lock figure on the machine it runs on.

The same 8 x 50 increments as the lock benchmark, with nothing of Flowdesk but its pipe frames
(``engine_core.protocol``): a loop in the benchmark's process answers acquire / get / save /
release for 8 worker processes, FIFO, and replies after each round as the dispatcher does.
``bare``: no database at all. ``sqlite``: the same rows as the engine writes (a setting, a lock
row), SQLite in WAL mode with synchronous=NORMAL, committed before each round's replies. No
engine can do better on this machine with one pipe round trip per flow API call and every
state change committed before it is answered; the distance from the engine's figure to
these is what Flowdesk's own code costs."""

from __future__ import annotations

import collections
import select
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from engine_core import protocol
from engine_core.runtime.pool import mp_context


def _incrementer(conn, increments: int) -> None:
    fd = conn.fileno()
    readable = select.poll()
    readable.register(fd, select.POLLIN)

    def call(op: str):
        protocol.send(fd, ("call", op))
        readable.poll()
        return conn.recv()

    conn.recv()  # all start together
    times = []
    for _ in range(increments):
        started = time.perf_counter()
        call("acquire")
        call("get")
        call("save")
        call("release")
        times.append((time.perf_counter() - started) * 1000)
    protocol.send(fd, ("done", times))


class _Rows:
    """The statements the engine runs for these calls, on one SQLite connection."""

    def __init__(self, path: Path):
        self._db = sqlite3.connect(path)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT, updated_at FLOAT)")
        self._db.execute("CREATE TABLE locks (name TEXT PRIMARY KEY, execution_id INT, session_id INT, "
                         "acquired_at FLOAT)")
        self._db.execute("INSERT INTO settings VALUES ('counter', '0', 0)")
        self._db.commit()
        self._cur = self._db.cursor()

    def take(self, holder: int) -> None:
        self._cur.execute("INSERT INTO locks VALUES ('counter', ?, 1, ?) ON CONFLICT DO NOTHING RETURNING name",
                          (holder, time.time())).fetchone()

    def run(self, op: str) -> None:
        if op == "get":
            self._cur.execute("SELECT value FROM settings WHERE name = 'counter'").fetchone()
        elif op == "save":
            self._cur.execute("UPDATE settings SET value = '1', updated_at = ? WHERE name = 'counter'", (time.time(),))
        elif op == "release":
            self._cur.execute("DELETE FROM locks WHERE name = 'counter'")

    def commit(self) -> None:
        if self._db.in_transaction:
            self._db.commit()

    def close(self) -> None:
        self._db.close()


def lock_floor(contenders: int, increments: int, with_sqlite: bool) -> float:
    """p50 ms of acquire + get + save + release, ``contenders`` processes contending."""
    ctx = mp_context()
    pipes = [ctx.Pipe() for _ in range(contenders)]
    processes = [ctx.Process(target=_incrementer, args=(theirs, increments), name="flowdesk-bench")
                 for _, theirs in pipes]
    for process in processes:
        process.start()
    with tempfile.TemporaryDirectory() as tmp:
        rows = _Rows(Path(tmp) / "floor.db") if with_sqlite else None
        ready = select.epoll()
        for ours, _ in pipes:
            ready.register(ours.fileno(), select.EPOLLIN)
            ours.send("go")
        holder, waiting, results, outbox = None, collections.deque(), [], []
        while len(results) < contenders:
            for fd, _ in ready.poll():
                for message in protocol.read_messages(fd):
                    if message[0] == "done":
                        results.append(message[1])
                        continue
                    op = message[1]
                    if op == "acquire" and holder is not None:
                        waiting.append(fd)
                        continue
                    if op == "acquire":
                        holder = fd
                        rows and rows.take(holder)
                    elif rows:
                        rows.run(op)
                    if op == "release":
                        holder = waiting.popleft() if waiting else None
                        if holder is not None:
                            rows and rows.take(holder)
                            outbox.append(holder)
                    outbox.append(fd)
            if rows:
                rows.commit()  # before any reply, as the dispatcher does
            for fd in outbox:
                protocol.send(fd, ("reply", None))
            outbox.clear()
        ready.close()
        if rows:
            rows.close()
    for process in processes:
        process.join()
    return statistics.median(t for times in results for t in times)
