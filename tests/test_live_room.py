"""`voicecoach start` end to end in a room: a real PulseAudio server (tests/room.py), the coach as a
subprocess speaking into it and listening to its monitor, and a scripted person who speaks
espeak-ng commands into the same room at moments keyed on the coach's events log.

Checked as a person would: what the history database holds, the order of what the coach said,
hold lengths against their deadlines, the summary spoken at the end, and that nothing fired that
the person did not say (the coach hears its own voice through the room the whole time). Then the
faults: the sound server killed mid-hold, no input device at all, SIGTERM and SIGHUP.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from room import Coach, Room

from voicecoach.history import HistoryStore

pytestmark = [pytest.mark.room, pytest.mark.slow]

START_TIMEOUT_S = 90.0
"""Loading the speech model and the speech engine, on a machine shared by other jobs."""


@pytest.fixture
def coach(room: Room, tmp_path: Path) -> Iterator[Coach]:
    c = Coach(room, tmp_path / "coach")
    try:
        yield c
    finally:
        c.close()


def _history(coach: Coach) -> HistoryStore:
    return HistoryStore.open(coach.data_dir / "history.sqlite3", read_only=True)


def _in_order(seen: list[str], wanted: list[str]) -> bool:
    """Whether `wanted` occurs in `seen` in this order (other items may come between)."""
    it = iter(seen)
    return all(any(x == w for x in it) for w in wanted)


class Person:
    """Speaks once the coach has fallen silent (and a moment more), and waits for the coach to
    act on what was said; `since` is when the coach last acted, so its answer is waited for."""

    def __init__(self, coach: Coach, espeak) -> None:
        self.coach = coach
        self.espeak = espeak
        self.since = 0.0

    def says(self, text: str, intent: str, tries: int = 3) -> dict:
        """Say `text` until the coach acts on it; a person says it again when the coach
        plainly did not take it (heard nothing, or refused what it heard)."""
        refused = []
        for _ in range(tries):
            self.coach.wait_quiet(since=self.since)
            t0, _ = self.coach.say(self.espeak(text))
            try:
                heard = self.coach.wait_for("heard", 10.0, since=t0)
            except AssertionError:
                refused.append("(nothing heard)")
                continue
            if heard["accepted"]:
                acted = self.coach.wait_for("intent", 10.0, since=t0)
                assert acted["name"] == intent, f"said {text!r}, the coach did {acted['name']}"
                self.since = acted["t"]
                return acted
            refused.append(f"{heard['text']!r}: {heard['reason']}")
            self.since = heard["t"]
        raise AssertionError(f"the coach never took {text!r}: {refused}")

    def heard_from(self, event: dict) -> None:
        """The coach acted on its own (a deadline): wait for what it says about that."""
        self.since = event["t"]


def _intents(coach: Coach) -> list[str]:
    return [e["name"] for e in coach.events() if e["kind"] == "intent"]


def _timeline(coach: Coach) -> str:
    """What the coach heard and said, one line each, for a failure's message."""
    lines = []
    for e in coach.events():
        if e["kind"] == "heard":
            lines.append(
                f"{e['t']:.2f} heard {e['text']!r} {e['start']:.2f}-{e['end']:.2f}"
                f" -> {e['intent']} {'accepted' if e['accepted'] else e['reason']}"
            )
        elif e["kind"] in ("speech_started", "speech_finished"):
            lines.append(f"{e['t']:.2f} {e['kind']} {e.get('key')}")
        elif e["kind"] == "intent":
            lines.append(f"{e['t']:.2f} intent {e['name']} {e['before']} -> {e['after']}")
        elif e["kind"] == "duck":
            lines.append(f"{e['t']:.2f} {'coach lowered' if e['ducked'] else 'coach back'}")
    # What the neural engine made of each utterance (its -v log): transcript, best, margins.
    try:
        log = coach._err_path.read_text(errors="replace").splitlines()
    except OSError:
        log = []
    reasons = [line.split("whisper: ", 1)[1] for line in log if "whisper: transcript" in line]
    if reasons:
        lines.append("whisper, last utterances:")
        lines += [f"  {reason}" for reason in reasons[-6:]]
    return "\n".join(lines)


def _session_events(coach: Coach) -> list[dict]:
    return [e for e in coach.events() if e["kind"] == "session"]


def _cues(coach: Coach) -> list[str]:
    return [e["key"] for e in coach.events() if e["kind"] == "cue"]


def test_a_session_run_by_voice_through_the_room(coach: Coach, espeak) -> None:
    """ready, repeat that, add thirty seconds, how long left, pause and resume, skip: each acted
    on once, the hold's time kept across the pause, the summary spoken."""
    person = Person(coach, espeak)
    coach.start()
    coach.wait_for("app", START_TIMEOUT_S, what="listening")
    person.heard_from(coach.wait_for("speech_started", 60, key="setup"))
    person.says("repeat that please", "repeat")  # the instructions again
    person.says("all set", "ready")
    person.says("add thirty seconds", "extend")  # 20 s + 30 s is capped at the routine's 40 s
    person.says("how much longer", "time_left")
    person.says("pause please", "pause")
    time.sleep(1.0)  # paused a while: that time must not count
    person.says("resume please", "resume")
    # The hold runs out on its own; then the other side and the next exercise, skipped.
    person.heard_from(coach.wait_for("session", 60, event="hold_ended"))
    person.says("skip this one", "skip")
    person.says("skip this one", "skip")
    person.says("skip this one", "skip")
    coach.wait_for("speech_finished", 60, key="summary")
    assert coach.finish() == 0, coach.stderr[-2000:]
    assert "underrun" not in coach.stderr, coach.stderr[-2000:]  # its voice never ran dry
    said = ["repeat", "ready", "extend", "time_left", "pause", "resume", "skip", "skip", "skip"]

    # Nothing fired that the person did not say, though the coach heard itself all along.
    intents = _intents(coach)
    assert intents == ["start_routine", *said], _timeline(
        coach
    )  # start_routine: the --routine flag
    accepted = [e for e in coach.events() if e["kind"] == "heard" and e["accepted"]]
    assert [e["intent"] for e in accepted] == said, _timeline(coach)

    cues = _cues(coach)
    assert _in_order(
        cues,
        [
            "greeting",
            "start",
            "setup",
            "setup",
            "hold_start",
            "extended_capped",
            "time_left",
            "paused",
            "resumed",
            "side_switch",
            "skipped",
            "setup",
            "side_switch",  # "Left side skipped. Now the right side."
            "skipped",
            "routine_done",
            "summary",
        ],
    ), cues
    summary = next(e for e in coach.events() if e["kind"] == "cue" and e["key"] == "summary")
    assert coach.stdout.splitlines()[-1] == f"Summary: {summary['text']}"
    spoken = [e for e in coach.events() if e["kind"] == "speech_finished" and e["key"] == "summary"]
    assert spoken and not spoken[-1]["interrupted"]

    # The hold: 20 s, extended to the 40 s cap, paused in between; it ended at its deadline.
    kinds = [e["event"] for e in _session_events(coach)]
    assert _in_order(
        kinds,
        [
            "session_started",
            "step_started",
            "hold_started",
            "extended",
            "paused",
            "resumed",
            "hold_ended",
            "step_started",
            "skipped",
            "finished",
        ],
    ), kinds
    ev = {e["event"]: e for e in reversed(_session_events(coach))}  # the first of each kind
    assert ev["extended"]["data"] == {"seconds": 20, "capped": True}
    paused_s = ev["resumed"]["at"] - ev["paused"]["at"]
    assert paused_s > 1.0
    held = ev["hold_ended"]["at"] - ev["hold_started"]["at"]
    assert ev["hold_ended"]["data"]["achieved_s"] == pytest.approx(40.0, abs=0.01)
    assert held == pytest.approx(40.0 + paused_s, abs=0.01)
    # The end was acted on at or after its deadline, never before.
    assert ev["hold_ended"]["t"] >= ev["hold_ended"]["at"] - 0.05
    assert ev["finished"]["data"] == {"completed": True}

    # The history holds the same session, event for event.
    with _history(coach) as history:
        sessions = history.sessions()
        assert [s.status for s in sessions] == ["completed"]
        stored = [e.kind for e in history.events(sessions[0].id)]
    assert stored == kinds


def test_pain_in_a_hold_and_a_barge_in_stop_over_the_coach(coach: Coach, espeak) -> None:
    """ "ouch" ends the hold at once; "stop" said while the coach is mid-sentence cuts its speech,
    and a second "stop" ends the session with the summary."""
    person = Person(coach, espeak)
    coach.start()
    coach.wait_for("app", START_TIMEOUT_S, what="listening")
    person.heard_from(coach.wait_for("speech_started", 60, key="setup"))
    person.says("all set", "ready")
    pain_heard = person.says("it hurts too much", "pain")
    person.says("skip this one", "skip")  # on to the other side
    skipped = person.says("skip this one", "skip")  # on to the long instructions
    started = coach.wait_for("speech_started", 30, since=skipped["t"], key="setup")
    # Two seconds into the long instructions, the person talks over the coach, and says it
    # again if the coach plainly talks on.
    time.sleep(max(0.0, started["at"] + 2.0 - time.monotonic()))
    for attempt in range(3):
        said_at, _ = coach.say(espeak("stop now"))
        try:
            stop = coach.wait_for("intent", 5, since=said_at, name="stop")
            break
        except AssertionError:
            if attempt == 2:
                raise
    cut = coach.wait_for("speech_finished", 15, since=said_at, key="setup")
    assert cut["interrupted"] is True
    assert cut["at"] >= said_at
    person.heard_from(stop)
    person.says("stop please", "stop")
    coach.wait_for("speech_finished", 60, key="summary")
    assert coach.finish() == 0, coach.stderr[-2000:]
    assert "underrun" not in coach.stderr, coach.stderr[-2000:]  # its voice never ran dry

    assert _intents(coach) == ["start_routine", "ready", "pain", "skip", "skip", "stop", "stop"], (
        _timeline(coach)
    )
    events = _session_events(coach)
    pain = next(e for e in events if e["event"] == "pain")
    ended = next(e for e in events if e["event"] == "hold_ended")
    assert pain["data"] == {"during": "hold", "ended_hold": True}
    assert pain["at"] == pytest.approx(pain_heard["at"], abs=0.01)
    assert ended["at"] == pytest.approx(pain["at"], abs=0.01)
    assert ended["data"]["achieved_s"] < 20.0  # cut short, not held to its 20 s
    assert coach.stdout.splitlines()[-1].startswith("Summary: Stopped after")
    with _history(coach) as history:
        assert [s.status for s in history.sessions()] == ["stopped"]


def test_the_sound_server_dying_mid_hold_loses_nothing(room: Room, coach: Coach) -> None:
    """Killed mid-hold: one clear line, the session kept as interrupted; started again with no
    sound server at all: one clear line, nothing touched; with a room again: offered to resume."""
    coach.start()
    coach.wait_for("app", START_TIMEOUT_S, what="listening")
    # No "ready": the hold starts on its own after the settle time (no recognizer in the way).
    coach.wait_for("session", 90, event="hold_started")
    time.sleep(1.0)  # mid-hold
    room.kill()
    code = coach.finish(timeout=60)
    assert code != 0
    assert "Traceback" not in coach.stderr
    assert len(coach.own_lines()) == 1, coach.own_lines()
    line = coach.own_lines()[0]
    assert "microphone" in line and "resume" in line, line
    assert coach.stdout.splitlines()[-1].startswith("Summary so far:")
    assert [e for e in coach.events() if e["kind"] == "app" and e["what"] == "device_lost"]
    with _history(coach) as history:
        sessions = history.sessions()
        assert [s.status for s in sessions] == ["interrupted"]
        kept = [e.kind for e in history.events(sessions[0].id)]
    assert kept[:3] == ["session_started", "step_started", "hold_started"]

    # No input device at all (the room is gone): one line, and the history is left as it was.
    db = coach.data_dir / "history.sqlite3"
    before = db.read_bytes()
    coach.start()
    assert coach.finish(timeout=60) != 0
    assert "Traceback" not in coach.stderr
    assert coach.own_lines() == [
        "voicecoach: no microphone found (this machine has no audio input device); "
        "run `voicecoach demo` to see a whole session without one"
    ]
    assert db.read_bytes() == before

    # A room again: the next start offers to resume where the hold was cut off.
    new_room = Room(room.dir.parent / "room2").start()
    try:
        again = Coach(new_room, coach.home, args=("--no-checkins",))
        again.start()
        offer = again.wait_for("cue", START_TIMEOUT_S, key="greeting_resume")
        assert "short stretch" in offer["text"]
        again.signal(signal.SIGTERM)
        again.finish(timeout=30)
    finally:
        new_room.stop()


@pytest.mark.parametrize(
    ("sig", "when"),
    [
        # Mid-hold is mid-sentence too (the coach is saying "hold ..."): the cut sentence's
        # stream was still closing on its own thread while PortAudio was torn down at exit,
        # which hung the exit or aborted it (SIGABRT, exit -6: libpulse's assertion in
        # pa_mutex_free); SoundDeviceOutput.close now waits for that stream (its docstring).
        (signal.SIGTERM, "mid-hold"),
        (signal.SIGHUP, "while the coach speaks its setup"),
    ],
)
def test_sigterm_and_sighup_end_a_session_as_interrupted(
    coach: Coach, sig: signal.Signals, when: str
) -> None:
    coach.start()
    coach.wait_for("app", START_TIMEOUT_S, what="listening")
    coach.wait_for("speech_started", 60, key="setup")
    if when == "mid-hold":  # the hold starts on its own after the settle time
        coach.wait_for("session", 90, event="hold_started")
    coach.signal(sig)
    code = coach.finish(timeout=30)
    assert code == 128 + sig
    assert "Traceback" not in coach.stderr
    assert coach.own_lines() == [
        f"voicecoach: ended by {sig.name}; the session is saved as interrupted: "
        'say "resume" at the next start to go on'
    ]
    assert coach.stdout.splitlines()[-1].startswith("Summary so far:")
    with _history(coach) as history:
        assert [s.status for s in history.sessions()] == ["interrupted"]
