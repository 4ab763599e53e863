"""The events log of `voicecoach start --events FILE`: one JSON object per line, written from any
thread, each with the monotonic time and its kind."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from voicecoach.errors import VoicecoachError
from voicecoach.eventlog import EventLog, read_events
from voicecoach.hearing.endpoint import SpeechSegment
from voicecoach.hearing.gate import GateDecision
from voicecoach.hearing.listener import Heard
from voicecoach.messages import (
    Cue,
    Intent,
    IntentHeard,
    SessionEvent,
    SpeechFinished,
    SpeechStarted,
    Utterance,
)


def test_each_thing_the_loop_does_is_one_line_in_order(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    before = time.monotonic()
    log.app("starting", pid=42)
    log.on_cue(Cue("setup", {"steps": ["Kneel."]}), "Kneel.", 10.0)
    log.on_input(SpeechStarted(now=10.1, cue=Cue("setup")), "setup", "setup", [])
    u = Utterance("pause", Intent("pause"), 0.9)
    log.on_heard(Heard(SpeechSegment(11.0, 11.5), u, GateDecision(True, "pause")))
    log.on_input(IntentHeard(Intent("pause"), now=11.5, utterance=u), "hold", "paused", [])
    log.on_input(SpeechFinished(now=12.0, cue=Cue("setup"), interrupted=True), "x", "x", [])
    log.on_session_event(SessionEvent("paused", 11.5, "hip", "kneeling", "left", {"n": 1}))
    log.close()
    log.app("after close")  # ignored, not an error
    events = read_events(path)
    assert [e["kind"] for e in events] == [
        "app",
        "cue",
        "speech_started",
        "heard",
        "intent",
        "speech_finished",
        "session",
    ]
    assert all(before <= e["t"] <= time.monotonic() for e in events)
    assert events[1] == {**events[1], "key": "setup", "text": "Kneel.", "at": 10.0}
    assert events[3]["accepted"] is True and events[3]["intent"] == "pause"
    assert events[4]["before"] == "hold" and events[4]["after"] == "paused"
    assert events[5]["interrupted"] is True
    assert events[6]["event"] == "paused" and events[6]["data"] == {"n": 1}


def test_lines_from_many_threads_never_interleave(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "e.jsonl")

    def write(n: int) -> None:
        for i in range(200):
            log.write("cue", key=f"{n}-{i}", text="x" * 500)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    events = read_events(tmp_path / "e.jsonl")
    assert len(events) == 800
    assert {e["key"] for e in events} == {f"{n}-{i}" for n in range(4) for i in range(200)}


def test_a_line_still_being_written_is_left_for_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"t": 1, "kind": "app"}\n{"t": 2, "ki')
    assert read_events(path) == [{"t": 1, "kind": "app"}]
    assert read_events(tmp_path / "missing.jsonl") == []


def test_an_unwritable_log_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(VoicecoachError, match="cannot write the events log"):
        EventLog(tmp_path / "dir")
