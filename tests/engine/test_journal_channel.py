"""JournalChannel (engine_core/worker/journal.py) against a fake inner channel: what a resumed
or replayed execution's calls get from its journal, and what still reaches the engine."""

from __future__ import annotations

import json

import pytest

import flow_api
from engine_core import journal_keys as jk
from engine_core import protocol
from engine_core.worker.journal import JournalChannel

EID = 7


class FakeInner:
    """The PipeChannel's interface as JournalChannel uses it; records what went to the engine."""

    def __init__(self, answers=None, flow_path="/ws/flows/Deploy.py"):
        self.execution_id = EID
        self.flow_path = flow_path
        self.seq = 0
        self.requests: list[tuple] = []  # (op, payload, seq, line, reattach)
        self.notes: list[tuple] = []
        self._answers = answers or {}
        self.next_line = 10

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def line(self):
        self.next_line += 1
        return self.next_line

    def call(self, op, **payload):
        return self.request(op, payload, self.next_seq(), self.line())

    def request(self, op, payload, seq=0, line=None, reattach=False):
        self.requests.append((op, payload, seq, line, reattach))
        answer = self._answers.get(op, ("live", op))
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def notify(self, op, **payload):
        self.notes.append((op, payload))


def entry(seq, op, payload, *, result=None, ok=True, state=jk.DONE, line=None):
    target, h, args = jk.identify(op, payload, EID)
    return jk.Entry(seq, op, target, h, args, line if line is not None else 10 + seq, state,
                    None if state == jk.PENDING else ok,
                    None if state == jk.PENDING else jk.encode_result(result), None, 1.0, None)


def setting(name):
    return {"name": name}


def start(flow, **inputs):
    return {"parent": EID, "flow": flow, "name": None, "inputs": flow_api._wire.encode(inputs, "x"),
            "run": True, "wait": True}


def plan(entries, mode=jk.RESUME, note_skip=0):
    return jk.JournalPlan(mode, tuple(entries), (), note_skip)


def test_answered_in_order_without_asking_the_engine():
    summary = {"id": 12, "status": "success", "message": None, "label": "Build #12"}
    inner = FakeInner()
    ch = JournalChannel(inner, plan([entry(1, "setting_get", setting("a"), result="one"),
                                      entry(2, "start_flow", start("Build", env="prod"), result=summary),
                                      entry(3, "file_read", {"name": "f.bin"}, result=b"\x00\x01")]))
    assert ch.call("setting_get", name="a") == "one"
    assert ch.call("start_flow", **start("Build", env="prod")) == summary
    assert ch.call("file_read", name="f.bin") == b"\x00\x01"
    assert [r[0] for r in inner.requests] == []  # nothing reached the engine
    # the journal is exhausted: the next call is live, with the next seq
    assert ch.call("setting_save", name="a", value='"two"') == ("live", "setting_save")
    op, payload, seq, line, reattach = inner.requests[-1]
    assert (op, seq, reattach) == ("setting_save", 4, False)
    assert inner.notes == [(protocol.JOURNAL_CAUGHT_UP, {"seq": 3})]


def test_recorded_error_is_raised_again_as_the_same_exception():
    inner = FakeInner()
    ch = JournalChannel(inner, plan([entry(1, "setting_get", setting("missing"), ok=False,
                                           result=["ResourceNotFoundError", "no setting 'missing'"])]))
    with pytest.raises(flow_api.ResourceNotFoundError, match="no setting 'missing'"):
        ch.call("setting_get", name="missing")
    assert inner.requests == []


def test_pending_last_entry_reattaches_to_the_engine():
    inner = FakeInner(answers={"start_flow": {"id": 12, "status": "success"}})
    ch = JournalChannel(inner, plan([entry(1, "setting_get", setting("a"), result="one"),
                                      entry(2, "start_flow", start("Build"), state=jk.PENDING)]))
    ch.call("setting_get", name="a")
    assert ch.call("start_flow", **start("Build")) == {"id": 12, "status": "success"}
    assert inner.requests == [("start_flow", start("Build"), 2, 12, True)]
    assert inner.notes == [(protocol.JOURNAL_CAUGHT_UP, {"seq": 2})]
    ch.call("setting_get", name="b")  # then live, not re-attached
    assert inner.requests[-1][2:] == (3, 13, False)


def test_names_differ_ends_the_execution_with_the_message():
    inner = FakeInner()
    ch = JournalChannel(inner, plan([entry(1, "setting_get", setting("a"), result="one", line=20),
                                      entry(2, "setting_save", {"name": "target", "value": '"x"'}, line=31),
                                      entry(3, "sleep", {"seconds": 5, "until": 1.0})]), flow_name="Deploy")
    ch.call("setting_get", name="a")
    inner.next_line = 32
    with pytest.raises(flow_api.ExecutionError) as caught:
        ch.call("start_flow", **start("Build", env="prod"))
    assert str(caught.value) == (
        "call differs: 'Deploy' (#7) no longer makes the flow API calls it made before the engine stopped."
        " Call 2 was system.setting('target').save(value=...) at line 31; now it is"
        " this.flow('Build', inputs={'env': 'prod'}) at line 33. Was flows/Deploy.py edited since it ran?"
        " Call 1 was answered from the journal and not repeated; nothing from call 2 on was done.")
    assert inner.requests == []
    # nothing acts after a divergence (a finally: in the flow that calls again)
    with pytest.raises(flow_api.ExecutionError, match="call differs"):
        ch.call("setting_get", name="a")
    assert inner.requests == []


def test_same_call_other_target_names_both_targets():
    inner = FakeInner()
    ch = JournalChannel(inner, plan([entry(1, "setting_get", setting("a"), result="one", line=5)]))
    inner.next_line = 5
    with pytest.raises(flow_api.ExecutionError) as caught:
        ch.call("setting_get", name="b")
    text = str(caught.value)
    assert "Call 1 was system.setting('a').get() at line 5; now it is system.setting('b').get() at line 6." in text
    assert "No call was answered from the journal; nothing from call 1 on was done." in text


def test_args_differ_alone_is_still_answered():
    summary = {"id": 12, "status": "success", "message": None, "label": "Build"}
    inner = FakeInner()
    ch = JournalChannel(inner, plan([entry(1, "start_flow", start("Build", stamp=1.0), result=summary),
                                      entry(2, "setting_save", {"name": "s", "value": '"old"'}, result=None)]))
    assert ch.call("start_flow", **start("Build", stamp=2.0)) == summary
    assert ch.call("setting_save", name="s", value='"new"') is None
    assert inner.requests == []


def test_resume_exhausted_goes_live_from_the_start_when_the_journal_is_empty():
    inner = FakeInner()
    ch = JournalChannel(inner, plan([]))
    assert ch.call("own_client") == ("live", "own_client")
    assert inner.requests == [("own_client", {}, 1, 11, False)]


def test_replay_exhausted_asks_the_engine_journal_end_then_live():
    inner = FakeInner(answers={protocol.JOURNAL_END: {"live": True}})
    ch = JournalChannel(inner, plan([entry(1, "setting_get", setting("a"), result="one")], mode=jk.REPLAY))
    ch.call("setting_get", name="a")
    assert ch.call("setting_get", name="b") == ("live", "setting_get")
    (op1, p1, seq1, _, _), (op2, _, seq2, _, r2) = inner.requests
    assert op1 == protocol.JOURNAL_END and p1["seq"] == 2 and p1["reason"] == "the recording ends here"
    assert seq1 == 0  # not a flow API call of the flow: not journaled
    assert (op2, seq2, r2) == ("setting_get", 2, False)
    ch.call("setting_get", name="c")  # live from here on
    assert inner.requests[-1][0] == "setting_get"


def test_replay_journal_end_stop_cancels():
    inner = FakeInner(answers={protocol.JOURNAL_END: {"live": False}})
    ch = JournalChannel(inner, plan([], mode=jk.REPLAY))
    with pytest.raises(flow_api.ExecutionCancel, match="replay stopped at the end of the recording"):
        ch.call("setting_get", name="a")
    assert [r[0] for r in inner.requests] == [protocol.JOURNAL_END]


def test_replay_differing_call_is_a_journal_end_with_the_message():
    inner = FakeInner(answers={protocol.JOURNAL_END: {"live": False}})
    ch = JournalChannel(inner, plan([entry(1, "setting_get", setting("a"), result="one")], mode=jk.REPLAY))
    with pytest.raises(flow_api.ExecutionCancel):
        ch.call("setting_get", name="zzz")
    assert inner.requests[0][1]["reason"].startswith("call differs: ")


def test_replay_pending_entry_is_the_end_of_the_recording():
    inner = FakeInner(answers={protocol.JOURNAL_END: {"live": False}})
    ch = JournalChannel(inner, plan([entry(1, "message_wait", {"id": 3, "timeout": None}, state=jk.PENDING)],
                                    mode=jk.REPLAY))
    with pytest.raises(flow_api.ExecutionCancel):
        ch.call("message_wait", id=3, timeout=None)
    assert inner.requests[0][1]["reason"] == "the recording ends waiting for this call"


def test_replay_start_flow_replays_the_child_and_returns_the_recorded_summary():
    summary = {"id": 12, "status": "error", "message": "boom", "label": "Build #12"}
    inner = FakeInner(answers={protocol.REPLAY_CHILD: {"id": 99, "status": "error", "message": "boom"}})
    ch = JournalChannel(inner, plan([entry(1, "start_flow", start("Build"), result=summary)], mode=jk.REPLAY))
    assert ch.call("start_flow", **start("Build")) == summary
    assert inner.requests == [(protocol.REPLAY_CHILD, {"original": 12}, 0, None, False)]


def test_notes_dropped_while_answering_then_note_skip_log_lines_skipped():
    inner = FakeInner()
    ch = JournalChannel(inner, plan([entry(1, "setting_get", setting("a"), result="one"),
                                      entry(2, "setting_get", setting("b"), result="two")], note_skip=2))
    ch.notify("log", id=EID, level="info", text="before 1", fields=None)
    ch.call("setting_get", name="a")
    ch.notify("log", id=EID, level="info", text="between", fields=None)
    ch.notify("set_output", id=EID, outputs="{}")
    ch.call("setting_get", name="b")  # the last entry: caught up
    ch.notify("log", id=EID, level="info", text="stored 1", fields=None)
    ch.notify("log", id=EID, level="info", text="stored 2", fields=None)
    ch.notify("log", id=EID, level="info", text="new", fields=None)
    ch.notify("set_output", id=EID, outputs='{"x":1}')
    assert inner.notes == [(protocol.JOURNAL_CAUGHT_UP, {"seq": 2}),
                           ("log", {"id": EID, "level": "info", "text": "new", "fields": None}),
                           ("set_output", {"id": EID, "outputs": '{"x":1}'})]


def test_replay_keeps_its_notes_they_are_the_replays_own():
    inner = FakeInner()
    ch = JournalChannel(inner, plan([entry(1, "setting_get", setting("a"), result="one")], mode=jk.REPLAY,
                                    note_skip=3))
    ch.notify("log", id=EID, level="info", text="before", fields=None)
    ch.call("setting_get", name="a")
    ch.notify("set_output", id=EID, outputs='{"x":1}')
    assert [n[0] for n in inner.notes] == ["log", protocol.JOURNAL_CAUGHT_UP, "set_output"]


def test_file_read_too_big_to_journal_is_read_again_and_checked():
    import hashlib

    data = b"x" * 100
    too_big = {"$too_big": hashlib.sha256(data).hexdigest(), "size": len(data)}
    inner = FakeInner(answers={"file_read": data})
    ch = JournalChannel(inner, plan([entry(1, "file_read", {"name": "big.bin"}, result=too_big)] * 2))
    assert ch.call("file_read", name="big.bin") == data
    assert inner.requests == [("file_read", {"name": "big.bin"}, 0, None, False)]  # seq 0: not journaled again
    inner._answers["file_read"] = b"changed"
    with pytest.raises(flow_api.ExecutionError, match="changed since call 1 read it"):
        ch.call("file_read", name="big.bin")


# -- journal_keys ---------------------------------------------------------------------------------

def test_identify_normalises():
    a = jk.identify("start_flow", {"parent": EID, "flow": "B", "inputs": '{"a":1,"b":2}'}, EID)
    b = jk.identify("start_flow", {"inputs": '{"a":1,"b":2}', "flow": "B", "parent": EID}, EID)
    assert a == b and a[0] == "B" and '"parent":"@this"' in a[2]
    # JSON fields are kept as the JSON text sent (not decoded and encoded again): the args stay
    # JSON, and a text that differs alone changes the hash shown, never the identity (the names)
    assert json.loads(a[2])["inputs"] == {"a": 1, "b": 2}
    c = jk.identify("start_flow", {"parent": EID, "flow": "B", "inputs": '{"b":2,"a":1}'}, EID)
    assert c[0] == a[0] and json.loads(c[2]) == json.loads(a[2])
    # a value spelling the stand-in for a JSON field's text does not mix them up
    odd = jk.identify("start_flow", {"parent": EID, "flow": "B", "name": jk._SPLICE, "inputs": '{"a":1}'}, EID)
    assert json.loads(odd[2])["name"] == jk._SPLICE
    # a replay (another id) hashes its own calls the same
    assert jk.identify("start_flow", {"parent": 99, "flow": "B", "inputs": '{"a":1,"b":2}'}, 99) == a
    # timeouts and a sleep's length are not part of the identity
    assert jk.identify("sleep", {"seconds": 1, "until": 5.0}, EID) == jk.identify("sleep", {"until": 9.0}, EID)
    assert jk.identify("wait", {"ids": [2, 3], "timeout": 1, "mode": "all"}, EID)[:2] == \
        jk.identify("wait", {"ids": [2, 3], "timeout": None, "mode": "all"}, EID)[:2]
    assert jk.identify("wait", {"ids": [3, 2], "timeout": 1}, EID)[0] == "2,3"


def test_identify_masks_secrets_and_connector_params():
    target, h, args = jk.identify("setting_save", {"name": "pw", "value": '"hunter22"'}, EID, ("hunter22",))
    assert "hunter22" not in args and "********" in args
    _, _, args = jk.identify("start_connector", {"parent": EID, "connector_type": "REST",
                                                 "inputs": '{"url":"https://u:sekrit@h/x","password":"p4ss"}'}, EID)
    assert "sekrit" not in args and "p4ss" not in args


def test_results_round_trip_and_describe():
    value = {"b": b"\xff\x00", "t": (1, "x"), "n": None}
    assert jk.decode_result(jk.encode_result(value)) == {"b": b"\xff\x00", "t": [1, "x"], "n": None}
    assert jk.decode_result(None) is None
    assert jk.describe("start_flow", {"flow": "Build", "inputs": {"env": "prod"}}, 31) == \
        "this.flow('Build', inputs={'env': 'prod'}) at line 31"
    assert jk.describe("sleep", "{}", None) == "this.sleep(...)"
    assert jk.describe("lock_acquire", {"name": "db"}, 4) == "system.lock('db').acquire() at line 4"


def test_plan_has_no_compare_field():
    assert jk.JournalPlan._fields == ("mode", "entries", "secrets", "note_skip")
