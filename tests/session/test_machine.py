"""Scripted sessions on a fake clock: the things people do, every intent in every state, exact
time accounts, pain, stop and resume, check-ins and resuming an interrupted session."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voicecoach.clock import FakeClock
from voicecoach.dialog import Dialog
from voicecoach.messages import (
    Cue,
    Intent,
    IntentHeard,
    Progress,
    ResumePoint,
    SessionEvent,
    SpeechAdjust,
    SpeechFinished,
    SpeechStarted,
    Tick,
)
from voicecoach.routines import RoutineLibrary
from voicecoach.session import ALL_INTENTS, STATES, Session
from voicecoach.summary import summarize

LIB = RoutineLibrary.load(user_dir=Path("/nonexistent-voicecoach-test"))
DIALOG = Dialog(seed=7)

SLOTS: dict[str, dict[str, str | int]] = {
    "start_routine": {"routine": "hip"},
    "extend": {"seconds": 20},
    "rating": {"value": 4},
}


class Coach:
    """A session driven by a fake clock, collecting everything it says."""

    def __init__(self, start: float = 1000.0, **kwargs: object) -> None:
        self.clock = FakeClock(start)
        self.session = Session(LIB, **kwargs)  # type: ignore[arg-type]
        self.cues: list[Cue] = []
        self.texts: list[str] = []

    @property
    def now(self) -> float:
        return self.clock.now()

    def _take(self, cues: list[Cue]) -> list[Cue]:
        self.cues.extend(cues)
        self.texts.extend(DIALOG.render(c) for c in cues)
        return cues

    def greet(self) -> list[Cue]:
        return self._take(self.session.greet(self.now))

    def say(self, name: str, **slots: str | int) -> list[Cue]:
        return self._take(self.session.handle(IntentHeard(Intent(name, slots), self.now)))

    def wait(self, seconds: float) -> list[Cue]:
        """Let `seconds` pass, ticking exactly at every deadline on the way, like the live loop."""
        end = self.now + seconds
        out: list[Cue] = []
        for _ in range(10_000):
            deadline = self.session.next_deadline()
            if deadline is None or deadline > end:
                break
            self.clock.set(max(self.now, deadline))
            out += self.session.handle(Tick(self.now))
        self.clock.set(end)
        out += self.session.handle(Tick(end))
        return self._take(out)

    def run_out(self, limit: float = 36_000) -> None:
        """Wait until nothing more is scheduled (or the limit)."""
        start = self.now
        while self.session.next_deadline() is not None and self.now - start < limit:
            self.wait(self.session.next_deadline() - self.now)  # type: ignore[operator]

    def events(self, kind: str) -> list[SessionEvent]:
        return [e for e in self.session.events if e.kind == kind]


def keys(cues: list[Cue]) -> list[str]:
    return [c.prompt_key for c in cues]


def hold_every_hip_side(coach: Coach) -> None:
    """From the hip routine's first setup: both sides of the kneeling stretch, then "ready" to
    the deeper variation when it is offered (its instructions follow) and both of its sides."""
    for _ in range(2):
        coach.say("ready")
        coach.wait(30.0)
    assert keys(coach.cues[-1:]) == ["offer"]
    coach.say("ready")
    for _ in range(2):
        coach.say("ready")
        coach.wait(30.0)


# --- the four things people do -------------------------------------------------------------


def test_hip_routine_from_idle_to_the_end() -> None:
    coach = Coach(settle_s=15.0, checkins=False, progress=Progress(2, 4, 2))
    greeting = coach.greet()
    assert keys(greeting) == ["greeting"]
    started = coach.say("start_routine", routine="hip")
    assert keys(started) == ["start", "setup", "setup_end"]
    assert coach.session.state == "setup"
    assert "tailbone tucked under" in coach.texts[-2]
    assert coach.texts[-1].endswith("Say ready when you're in position.") or coach.texts[
        -1
    ].endswith("Say ready when you're set.")

    # Nothing heard: after the settle time (30 s: getting up onto the knees), the coach says
    # once that it starts by itself unless told to wait, and a few seconds later it does.
    coach.wait(30.0)
    assert coach.session.state == "setup"
    assert keys(coach.cues[-1:]) == ["ready_nudge"]
    assert "unless you say wait" in coach.texts[-1]
    coach.wait(8.0)
    assert coach.session.state == "hold"
    first_hold = coach.events("hold_started")[0].at
    assert first_hold == 1038.0
    coach.wait(30.0)
    assert coach.session.state == "side_switch"
    assert coach.cues[-1].prompt_key == "side_switch" and coach.cues[-1].data["side"] == "right"

    coach.say("ready")
    coach.wait(30.0)
    assert coach.session.state == "setup"
    assert coach.session.view().exercise == "deeper variation"
    assert "say ready for the deeper variation, or skip" in coach.texts[-1]
    coach.say("ready")  # the optional variation, accepted
    coach.run_out()
    assert coach.session.finished
    summary = coach.session.summary
    assert summary is not None and summary.completed
    assert [(r.exercise, r.side, r.achieved_s) for r in summary.results] == [
        ("kneeling_psoas_stretch", "left", 30.0),
        ("kneeling_psoas_stretch", "right", 30.0),
        ("deeper_kneeling_stretch", "left", 30.0),
        ("deeper_kneeling_stretch", "right", 30.0),
    ]
    assert summary.hold_s == 120.0
    assert summary.sessions_today == 2 and summary.streak_days == 4
    assert summary.total_s == coach.events("finished")[0].at - 1000.0
    said = " ".join(coach.texts)
    # the next exercise is announced before the hold ends, and "ten seconds left" is said
    assert any(c.prompt_key == "countdown" and c.data.get("next") == "deeper variation"
               for c in coach.cues)  # fmt: skip
    assert "Second hip session today, of two to three advised" in said
    kinds = [e.kind for e in coach.session.events]
    assert kinds[0] == "session_started" and kinds[-1] == "finished"
    assert kinds.count("step_started") == 4 and kinds.count("hold_ended") == 4


def test_repeat_leaves_the_timer_alone_and_skip_moves_on() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    setup_words = coach.texts[-2]
    again = coach.say("repeat")
    assert keys(again) == ["setup", "setup_end"]
    assert "tailbone tucked under" in coach.texts[-2] and "tailbone" in setup_words
    assert "release the psoas" not in coach.texts[-1]  # the instructions only, not the why

    coach.say("ready")
    coach.wait(12.0)
    deadline = coach.session.next_deadline()
    repeated = coach.say("repeat")
    assert keys(repeated) == ["repeat_hold"]
    assert coach.session.next_deadline() == deadline
    assert coach.session.view().remaining_s == pytest.approx(18.0)

    skipped = coach.say("skip")
    # Which side was skipped and which comes next, not "Moving on" and "now the other leg".
    assert keys(skipped) == ["side_switch"]
    assert coach.texts[-1].startswith("Left side skipped. Now the right knee down.")
    assert coach.session.state == "side_switch"
    assert coach.session.view().side == "right"
    coach.say("skip")  # skip the right side from its setup, too
    assert coach.session.state == "setup"
    assert coach.session.view().exercise == "deeper variation"

    coach.say("back")
    assert coach.session.view().exercise == "kneeling psoas stretch"
    assert coach.session.view().side == "right"
    coach.say("ready")
    coach.run_out()  # the deeper variation is offered, then left out when nothing is said
    assert "declined" in keys(coach.cues)
    summary = coach.session.summary
    assert summary is not None
    assert summary.steps_skipped == 2 and summary.declined == 1
    assert [(r.side, r.achieved_s) for r in summary.results[:2]] == [
        ("left", 12.0),
        ("right", 30.0),
    ]


@pytest.mark.parametrize("slots", [{"seconds": 300}, {}])
def test_add_five_minutes_to_constructive_rest_makes_it_fifteen_exactly(
    slots: dict[str, int],
) -> None:
    coach = Coach(start=12.3456, checkins=False)
    coach.say("start_routine", routine="release")
    coach.wait(3.21)
    coach.say("ready")
    began = coach.events("hold_started")[0].at
    coach.wait(260.0)
    left = coach.say("time_left")
    assert coach.texts[-1].startswith("Five minutes and forty seconds")
    assert left[0].data["remaining"] == pytest.approx(340.0)
    added = coach.say("extend", **slots)
    assert keys(added) == ["extended"]
    assert coach.events("extended")[0].data == {"seconds": 300, "capped": False}
    assert coach.session.view().total_s == 900.0
    coach.wait(900.0)
    ended = coach.events("hold_ended")[0]
    assert round((ended.at - began) * 1000) == 900_000
    assert ended.data["achieved_s"] == pytest.approx(900.0, abs=1e-6)
    # sparse, calm reminders: a handful over fifteen minutes, not chatter
    during = [c for c in coach.cues if c.prompt_key in ("reminder", "halfway")]
    assert 2 <= len(during) <= 7


def test_extend_is_capped_at_the_maximum_and_says_so() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("ready")
    first = coach.say("extend", seconds=600)
    assert keys(first) == ["extended_capped"]
    assert "fifteen minutes is the most" in coach.texts[-1]
    assert coach.events("extended")[0].data == {"seconds": 300, "capped": True}
    second = coach.say("extend")
    assert keys(second) == ["extend_at_max"]
    assert coach.session.view().total_s == 900.0


def test_time_left_in_natural_words() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("ready")
    coach.wait(600 - 263.0)
    coach.say("time_left")
    assert coach.texts[-1] in (
        "About four minutes and twenty seconds left.",
        "About four minutes and twenty seconds to go.",
    )


def test_summary_numbers_after_a_mixed_session() -> None:
    coach = Coach(checkins=True, progress=Progress(1, 1, 1))
    coach.say("start_routine", routine="hip")
    coach.say("rating", value=6)
    coach.say("ready")
    coach.wait(10.0)
    coach.say("pause")
    coach.wait(50.0)
    coach.say("resume")
    coach.say("extend", seconds=10)  # the source's most is 30 s: nothing to add
    assert keys(coach.cues[-1:]) == ["extend_at_max"]
    coach.wait(20.0)
    assert coach.session.state == "side_switch"
    coach.say("skip")
    coach.say("ready")  # the deeper variation, accepted: its instructions
    coach.say("ready")  # in position
    coach.wait(5.0)
    coach.say("pain")
    coach.say("skip")  # after pain, skip leaves the optional variation out
    assert coach.session.state == "checkin_after"
    coach.say("rating", value=3)
    summary = coach.session.summary
    assert summary is not None
    assert [(r.exercise, r.side, r.achieved_s, r.skipped, r.stopped) for r in summary.results] == [
        ("kneeling_psoas_stretch", "left", 30.0, False, 0),
        ("kneeling_psoas_stretch", "right", 0.0, True, 0),
        ("deeper_kneeling_stretch", "left", 0.0, False, 1),
    ]
    assert summary.results[2].stopped_s == 5.0
    assert summary.steps_skipped == 1 and summary.declined == 1
    assert summary.added_s == 0.0
    assert summary.pauses == 1 and summary.paused_s == 50.0
    assert summary.pain_events == 1
    assert (summary.stiffness_before, summary.stiffness_after) == (6, 3)
    assert summary == summarize(coach.session.events, Progress(1, 1, 1))
    spoken = coach.texts[-1]
    assert "Stiffness six to three" in spoken
    assert "Pain stopped one hold." in spoken
    # Only what was not held in full is named; the left side's full hold goes without saying.
    assert "all in full, except kneeling psoas stretch right, skipped" in spoken.lower()
    assert "step skipped" not in spoken.lower() and "pause" not in spoken.lower()


# --- pause, pain, stop ----------------------------------------------------------------------


def test_pause_never_counts_as_hold_time() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("ready")
    began = coach.now
    coach.wait(10.0)
    coach.say("pause")
    assert coach.session.next_deadline() is None
    coach.wait(1000.0)
    assert coach.session.state == "paused"
    resumed = coach.say("resume")
    assert keys(resumed)[0] == "resumed"
    assert coach.texts[len(coach.texts) - len(resumed)] in (
        "Resuming. Twenty seconds left.",
        "Back to it. Twenty seconds to go.",
    )
    coach.wait(20.0)
    ended = coach.events("hold_ended")[0]
    assert ended.at == began + 1030.0
    assert ended.data["achieved_s"] == 30.0


def test_pain_ends_the_hold_at_once_and_offers_skip_or_ready() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("ready")
    coach.wait(7.5)
    said = coach.say("pain")
    assert keys(said) == ["pain", "pain_guidance", "pain_options"]
    stop_line, guidance, options = coach.texts[-3:]
    assert "slowly" in stop_line and "Don't push into pain" in stop_line
    # The hip source: where pain points, and a professional if it persists.
    assert "inside the hip or the groin" in guidance and "outer buttock" in guidance
    assert "If pain persists, see a health professional." in guidance
    assert "skip" in options and "ready" in options
    assert coach.events("hold_ended")[-1].data["achieved_s"] == 7.5
    assert coach.events("hold_ended")[-1].data["ended"] == "pain"
    assert coach.events("pain")[0].exercise == "kneeling_psoas_stretch"
    assert coach.session.state == "setup"
    assert coach.session.next_deadline() is None  # no settle timer: only ready or skip go on
    coach.wait(600.0)
    assert coach.session.state == "setup"
    coach.say("ready")
    assert coach.session.state == "hold"
    assert coach.session.view().remaining_s == 30.0


def test_stop_then_resume_within_the_window_continues_the_hold() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("ready")
    coach.wait(12.0)
    stopped = coach.say("stop")
    assert keys(stopped) == ["stopped"] and coach.session.state == "stopped"
    coach.wait(20.0)
    coach.say("resume")
    assert coach.session.state == "hold"
    assert coach.session.view().remaining_s == pytest.approx(18.0)
    coach.wait(18.0)
    assert coach.session.state == "side_switch"
    held = sum(float(e.data["achieved_s"]) for e in coach.events("hold_ended"))  # type: ignore[arg-type]
    assert held == pytest.approx(30.0)
    assert len(coach.events("resumed_after_stop")) == 1


def test_stop_window_running_out_gives_the_summary() -> None:
    coach = Coach(checkins=True)
    coach.say("start_routine", routine="release")
    coach.say("skip")
    coach.say("ready")
    coach.wait(100.0)
    coach.say("stop")
    coach.wait(29.0)
    assert coach.session.state == "stopped"
    coach.wait(1.0)
    assert coach.session.finished
    assert coach.cues[-1].prompt_key == "summary"
    summary = coach.session.summary
    assert summary is not None and not summary.completed and summary.stops == 1
    assert summary.results[0].achieved_s == 100.0
    assert coach.texts[-1].startswith("Stopped after")


def test_stop_twice_goes_straight_to_the_summary() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("stop")
    coach.say("stop")
    assert coach.session.finished and coach.session.summary is not None


# --- check-ins and resuming ------------------------------------------------------------------


def test_checkins_before_and_after_and_stiffness_change_in_summary() -> None:
    coach = Coach(checkins=True)
    started = coach.say("start_routine", routine="hip")
    assert keys(started) == ["start", "checkin_before"]
    assert "how stiff do your hips feel, from zero to ten" in coach.texts[-1]
    coach.say("rating", value=6)
    assert coach.events("rating")[0].data == {"phase": "before", "value": 6}
    assert coach.session.state == "setup"
    hold_every_hip_side(coach)
    assert coach.session.state == "checkin_after"
    assert keys(coach.cues[-2:]) == ["routine_done", "checkin_after"]
    coach.say("rating", value=3)
    assert coach.session.finished
    assert "Stiffness six to three" in coach.texts[-1]


def test_checkins_are_skippable_and_time_out() -> None:
    coach = Coach(checkins=True, checkin_wait_s=20.0)
    coach.say("start_routine", routine="hip")
    coach.say("skip")
    assert coach.session.state == "setup"
    assert coach.events("rating") == []
    coach = Coach(checkins=True, checkin_wait_s=20.0)
    coach.say("start_routine", routine="hip")
    coach.wait(20.0)
    assert coach.session.state == "setup"


def test_resume_from_an_interrupted_session() -> None:
    point = ResumePoint(routine="release", step_index=3, exercise="hip stirring", side="left",
                        session_id=42)  # fmt: skip
    coach = Coach(resumable=point)
    coach.greet()
    assert "Last time you stopped at the hip stirring, left side" in coach.texts[-1]
    assert "resume" in coach.session.allowed_intents()
    said = coach.say("resume")
    assert keys(said) == ["start_resumed", "setup", "setup_end"]
    assert coach.session.view().step == 3
    assert coach.session.view().exercise == "hip stirring"
    started = coach.events("session_started")[0]
    assert started.data["resumed_from"] == 3 and started.data["resumed_session_id"] == 42
    assert coach.events("step_started")[0].data == {"step": 3}


def test_resume_in_idle_without_a_resume_point_says_so() -> None:
    coach = Coach()
    assert keys(coach.say("resume")) == ["nothing_to_resume"]
    assert "resume" not in coach.session.allowed_intents()


# --- everything else ------------------------------------------------------------------------


def test_speech_settings_are_cues_for_the_speaker() -> None:
    coach = Coach()
    adjust = {n: coach.say(n)[0].adjust for n in ("slower", "faster", "louder", "quieter")}
    assert adjust["slower"] == SpeechAdjust(rate_delta=-20)
    assert adjust["faster"] == SpeechAdjust(rate_delta=20)
    assert adjust["louder"] is not None and adjust["louder"].volume_delta > 0
    assert adjust["quieter"] is not None and adjust["quieter"].volume_delta < 0


def test_settle_time_counts_from_the_end_of_speech() -> None:
    coach = Coach(checkins=False, settle_s=10.0)
    coach.say("start_routine", routine="hip")
    coach.session.handle(SpeechStarted(coach.now))
    assert coach.session.next_deadline() is None
    coach.wait(25.0)  # a long instruction is still being spoken
    assert coach.session.state == "setup"
    coach.session.handle(SpeechFinished(coach.now))
    assert coach.session.next_deadline() == coach.now + 30.0  # up onto the knees: more time
    coach.wait(30.0)
    assert keys(coach.cues[-1:]) == ["ready_nudge"]
    coach.session.handle(SpeechStarted(coach.now))
    coach.wait(3.0)  # the nudge is being said
    coach.session.handle(SpeechFinished(coach.now))
    assert coach.session.next_deadline() == coach.now + 8.0
    coach.wait(8.0)
    assert coach.session.state == "hold"


def test_events_reach_on_event_as_they_happen() -> None:
    seen: list[SessionEvent] = []
    coach = Coach(checkins=False, on_event=seen.append)
    coach.say("start_routine", routine="hip")
    coach.say("ready")
    coach.wait(40.0)
    assert seen == coach.session.events
    assert all(e.routine == "hip" for e in seen)
    assert all(e.exercise == "kneeling_psoas_stretch" for e in seen[1:])
    assert [e.side for e in seen if e.kind == "hold_ended"] == ["left"]


def test_a_new_session_can_start_from_the_summary() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("stop")
    coach.say("stop")
    assert coach.session.finished
    coach.say("start_routine", routine="release")
    assert coach.session.state == "setup" and not coach.session.finished
    assert [e.kind for e in coach.session.events] == ["session_started", "step_started"]
    assert coach.session.summary is None


def test_unknown_routine_and_start_during_a_session() -> None:
    coach = Coach(checkins=False)
    assert keys(coach.say("start_routine", routine="yoga")) == ["unknown_routine"]
    assert keys(coach.say("start_routine")) == ["which_routine"]
    coach.say("start_routine", routine="hip")
    assert keys(coach.say("start_routine", routine="release")) == ["already_running"]


def reach(state: str) -> Coach:
    """A coach in `state` (with check-ins on so those states can be reached)."""
    coach = Coach(checkins=True, resumable=ResumePoint("hip", 1, "kneeling psoas stretch", "right"))
    coach.greet()
    if state == "idle":
        return coach
    coach.say("start_routine", routine="hip")
    if state == "checkin_before":
        return coach
    coach.say("skip")
    if state == "setup":
        return coach
    if state == "hold":
        coach.say("ready")
        coach.wait(3.0)
        return coach
    if state == "paused":
        coach.say("ready")
        coach.say("pause")
        return coach
    if state == "stopped":
        coach.say("stop")
        return coach
    if state == "side_switch":
        coach.say("ready")
        coach.wait(30.0)
        return coach
    hold_every_hip_side(coach)
    if state == "checkin_after":
        return coach
    coach.say("skip")
    assert state == "summary"
    return coach


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("intent", ALL_INTENTS)
def test_every_intent_in_every_state_gets_a_spoken_answer(state: str, intent: str) -> None:
    coach = reach(state)
    assert coach.session.state == state
    before = len(coach.texts)
    cues = coach.say(intent, **SLOTS.get(intent, {}))
    assert cues, f"{intent} in {state} said nothing"
    for cue, text in zip(cues, coach.texts[before:], strict=True):
        key = DIALOG.key_for(cue)
        assert cue.prompt_key == "summary" or key in DIALOG.prompt_keys(), f"no prompt for {key}"
        assert text.strip() and "{" not in text and "None" not in text, (key, text)
    coach.wait(5.0)  # and the session still runs afterwards
    coach.session.view()
    coach.session.allowed_intents()


def test_allowed_intents_fit_the_state() -> None:
    assert "ready" in reach("setup").session.allowed_intents()
    assert "resume" in reach("paused").session.allowed_intents()
    assert "rating" in reach("checkin_before").session.allowed_intents()
    assert "start_routine" in reach("idle").session.allowed_intents()
    hold = reach("hold")
    assert "pause" in hold.session.allowed_intents()
    hold.say("help")
    assert "pause" in hold.texts[-1] and "stop" in hold.texts[-1]
    hold.say("help")  # said twice: more about what is being done
    assert "psoas" in hold.texts[-1] and "professional" in hold.texts[-1]


def test_paced_slides_speak_the_pace_and_announce_what_comes_next() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("skip")  # past constructive rest, to the psoas slide (left leg)
    coach.say("ready")
    coach.wait(80.0)  # five slides of 8 s forward and 8 s back
    assert coach.session.state == "side_switch"
    left = [c for c in coach.cues if c.prompt_key == "pace"]
    assert len(left) == 10
    assert left[0].data["words"].startswith("Slowly slide your heel forward")  # type: ignore[union-attr]
    assert coach.events("hold_ended")[-1].data == {"achieved_s": 80.0, "reps": 5, "ended": "done"}
    coach.say("ready")
    coach.wait(80.0)
    last = [c for c in coach.cues if c.prompt_key == "last_rep"]
    assert [c.data["next"] for c in last] == [None, "hip stirring"]


def test_repeat_while_paused_repeats_the_instructions_and_stays_paused() -> None:
    coach = reach("paused")
    said = coach.say("repeat")
    assert keys(said) == ["repeat_paused"]
    assert "tailbone" in coach.texts[-1] and "resume" in coach.texts[-1]
    assert coach.session.state == "paused"


def test_the_core_is_pure() -> None:
    """No audio, model, speech library or database, and no reading the clock or sleeping."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import voicecoach.session, voicecoach.dialog, voicecoach.routines, voicecoach.summary\n"
        "print(sorted(m for m in ('vosk', 'sounddevice', 'pyttsx3', 'numpy', 'sqlite3')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    package = Path(__file__).resolve().parents[2] / "voicecoach"
    for name in ("session", "dialog", "routines", "summary"):
        module = package / f"{name}.py"
        files = [module] if module.is_file() else sorted((package / name).glob("*.py"))
        assert files, name
        for path in files:
            source = path.read_text()
            for forbidden in ("import time", "monotonic(", "sleep(", "Timer(", "datetime"):
                assert forbidden not in source, (path.name, forbidden)


def test_reminders_take_turns_across_the_sides_and_holds_of_an_exercise() -> None:
    """Each hold of the kneeling stretch has room for one reminder; the routine's reminder
    wordings take turns. "Breathing deeply" is the source's for every hold: it is said as each
    hold begins, not as a reminder that only some holds hear."""
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    for _ in range(2):
        coach.say("ready")
        coach.wait(30.0)
    assert coach.session.view().exercise == "deeper variation"
    coach.say("ready")  # the optional deeper variation
    coach.run_out()
    said = [str(c.data["text"]) for c in coach.cues if c.prompt_key == "reminder"]
    assert said == [
        "Back straight, tailbone tucked under.",
        "Keep breathing deeply.",
        "Keep your glutes squeezed.",
        "Keep breathing deeply.",
    ]
    starts = [DIALOG.render(c) for c in coach.cues if c.prompt_key == "hold_start"]
    assert len(starts) == 4
    assert all(
        t == "Hold for twenty to thirty seconds, breathing deeply; I'll count thirty."
        for t in starts
    )


def test_start_after_stop_does_not_ask_for_the_stop_that_was_just_said() -> None:
    coach = reach("stopped")
    said = coach.say("start_routine", routine="release")
    assert keys(said) == ["stopped_hint"]
    assert "stop first" not in coach.texts[-1]
    assert "resume" in coach.texts[-1] and "stop again" in coach.texts[-1]
    assert coach.session.state == "stopped"


@pytest.mark.parametrize("state", ["idle", "stopped", "summary"])
def test_a_number_outside_a_check_in_never_promises_a_question_that_will_not_come(
    state: str,
) -> None:
    coach = reach(state)
    coach.say("rating", value=4)
    assert "at the end" not in coach.texts[-1]
    assert coach.events("rating") == []


def test_a_number_during_a_routine_without_check_ins_is_not_promised_a_question() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("rating", value=4)
    assert "at the end" not in coach.texts[-1]
    with_checkins = reach("hold")
    with_checkins.say("rating", value=4)
    assert "at the end" in with_checkins.texts[-1]  # true here: the question does come


def test_extending_paced_slides_past_the_maximum_is_told_in_repetitions() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("skip")  # to the psoas slide
    coach.say("ready")
    capped = coach.say("extend", seconds=600)
    assert keys(capped) == ["extended_capped"]
    assert coach.texts[-1] == "I can only add five more; ten repetitions is the most for this one."
    at_max = coach.say("extend")
    assert keys(at_max) == ["extend_at_max"]
    assert coach.texts[-1] == "This one is already at its most, ten repetitions."


def test_ready_while_paused_in_setup_starts_the_hold() -> None:
    """Paused while getting into position, "ready" means "I'm in position": begin the hold
    instead of reading the instructions again and waiting out the settle time."""
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.wait(4.0)
    coach.say("pause")
    coach.wait(60.0)
    said = coach.say("ready")
    assert coach.session.state == "hold"
    assert "hold_start" in keys(said) and "setup" not in keys(said)
    assert coach.events("hold_started")[0].at == coach.now
    coach.wait(30.0)
    summary_events = [e.kind for e in coach.session.events]
    assert summary_events.count("resumed") == 1
    assert coach.events("hold_ended")[0].data["achieved_s"] == 30.0


@pytest.mark.parametrize("state", ["idle", "summary"])
def test_help_where_a_routine_can_be_started_names_the_routines(state: str) -> None:
    coach = reach(state)
    coach.say("help")
    assert "full, hip or release" in coach.texts[-1]
    hold = reach("hold")
    hold.say("help")
    assert "release" not in hold.texts[-1]  # only where starting one is possible


def test_help_while_paused_mentions_that_hurts() -> None:
    """Pain is answered while paused (the hold ends, ease out); help must not hide it there."""
    coach = reach("paused")
    assert "pain" in coach.session.allowed_intents()
    coach.say("help")
    assert "that hurts" in coach.texts[-1]


@pytest.mark.parametrize("second", ["stop", "window"])
def test_stop_at_the_last_check_in_still_counts_the_routine_as_done(second: str) -> None:
    """Every exercise was done; declining "how stiff now?" with stop must not turn the session
    into a stopped one (it would not count for today or the streak)."""
    coach = reach("checkin_after")
    coach.say("stop")
    if second == "stop":
        coach.say("stop")
    else:
        coach.wait(30.0)
    summary = coach.session.summary
    assert coach.session.finished and summary is not None
    assert summary.completed
    assert coach.events("finished")[0].data["completed"] is True
    assert not coach.texts[-1].startswith("Stopped")


def test_the_countdown_says_the_routine_files_own_number_of_seconds(tmp_path: Path) -> None:
    """A routine file may set `countdown: 5`; the coach must then not say "ten seconds"."""
    (tmp_path / "short.yaml").write_text(
        "id: short\nnames: [short]\nexercises:\n"
        "  - {id: rest, names: [rest], why: It rests., setup: [Lie down.],\n"
        "     hold: {seconds: 30, countdown: 5}}\n",
        encoding="utf-8",
    )
    session = Session(RoutineLibrary.load(user_dir=tmp_path), checkins=False)
    session.handle(IntentHeard(Intent("start_routine", {"routine": "short"}), 0.0))
    session.handle(IntentHeard(Intent("ready"), 1.0))
    assert session.next_deadline() == 26.0
    said = [DIALOG.render(c) for c in session.handle(Tick(26.0)) if c.prompt_key == "countdown"]
    assert len(said) == 1 and "five seconds" in said[0].lower() and "ten" not in said[0].lower()


def test_the_countdown_is_never_heard_as_a_command() -> None:
    """ "Ten more seconds" is the grammar's "add ten seconds": the coach must not say it."""
    from voicecoach.grammar import load_grammar, normalize_utterance

    grammar = load_grammar()
    dialog = Dialog(seed=0)
    for data in ({"seconds": 10}, {"seconds": 10, "next": "psoas slide"}):
        for _ in range(6):
            text = dialog.render(Cue("countdown", data))
            for clause in text.replace(",", ".").split("."):
                said = normalize_utterance(clause)
                assert not said or grammar.match(said) is None, text


@pytest.mark.parametrize(
    ("routine", "advised"), [("release", False), ("hip", True), ("full", True)]
)
def test_the_daily_count_is_said_only_for_sessions_that_held_the_kneeling_stretch(
    routine: str, advised: bool
) -> None:
    """ "Repeat 2 to 3 times daily" is the kneeling stretch's source; the release source advises
    no frequency, so a release session gets no daily count, and a hip or full session counts
    among the kneeling-stretch sessions."""
    coach = Coach(checkins=False, progress=Progress(5, 1, 2))
    coach.say("start_routine", routine=routine)
    coach.say("stop")
    coach.say("resume")
    while not coach.session.finished:
        coach.say("ready")
        coach.run_out(limit=2000)
    assert coach.session.summary is not None and coach.session.summary.completed
    said = coach.texts[-1]
    assert ("Second hip session today, of two to three advised" in said) == advised
    assert "session today" in said or not advised
    if not advised:
        assert "today" not in said and "advised" not in said
    assert coach.events("finished")[0].data.get("counts_for") == ("hip" if advised else None)


def test_a_session_whose_every_step_was_skipped_is_not_completed() -> None:
    coach = Coach(checkins=False, progress=Progress(2, 3, 2))
    coach.say("start_routine", routine="hip")
    while not coach.session.finished:
        coach.say("skip")
    summary = coach.session.summary
    assert summary is not None and not summary.completed
    assert coach.events("finished")[0].data == {"completed": False, "all_skipped": True}
    assert summary.all_skipped
    assert coach.texts[-1].startswith("Every step was skipped")
    assert "today" not in coach.texts[-1] and "in a row" not in coach.texts[-1]


def test_resuming_a_stopped_hold_says_carry_on_once() -> None:
    for _ in range(3):  # each wording of resumed_after_stop
        coach = reach("hold")
        coach.say("stop")
        said = coach.say("resume")
        text = " ".join(coach.texts[-len(said) :]).lower()
        assert text.count("carry") <= 1, text
        assert "twenty-seven seconds" in text


def test_time_added_in_setup_survives_stop_and_resume() -> None:
    """The summary counts the added time, so the hold must still have it after resume."""
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("extend", seconds=300)
    coach.say("stop")
    coach.say("resume")
    assert coach.session.state == "setup"
    assert coach.session.view().total_s == 900.0
    coach.say("ready")
    coach.wait(900.0)
    assert coach.events("hold_ended")[0].data["achieved_s"] == 900.0


# --- issue 10: pain, "say ready", the sources' own timings ----------------------------------


def _kneeling_hold(wait: float = 5.0) -> Coach:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("ready")
    coach.wait(wait)
    return coach


def test_a_second_pain_on_the_same_step_offers_skip_or_stop_not_another_try() -> None:
    coach = _kneeling_hold()
    coach.say("pain")
    coach.say("ready")
    coach.wait(3.0)
    said = coach.say("pain")
    # The guidance was said at the first pain of the session; not again.
    assert keys(said) == ["pain", "pain_options"]
    options = coach.texts[-1]
    assert "skip" in options and "stop" in options and "try" not in options
    assert "Don't push into pain" in coach.texts[-2]
    assert coach.session.next_deadline() is None
    # The next step's first pain is not a second one: trying again is offered there.
    coach.say("skip")
    coach.say("ready")
    coach.wait(2.0)
    said = coach.say("pain")
    assert keys(said) == ["pain", "pain_options"] and "try again" in coach.texts[-1]


def test_pain_outside_a_step_still_gets_the_guidance_once() -> None:
    coach = reach("checkin_before")
    said = coach.say("pain")
    assert keys(said) == ["pain_general", "pain_guidance"]
    assert "Don't push into pain" in coach.texts[-2]
    assert keys(coach.say("pain")) == ["pain_general"]


def test_repeat_after_pain_gives_the_steps_instructions() -> None:
    coach = _kneeling_hold()
    coach.say("pain")
    said = coach.say("repeat")
    assert keys(said) == ["setup", "setup_end"]
    assert "tailbone tucked under" in coach.texts[-2]
    assert "pain" not in " ".join(coach.texts[-2:]).lower()
    assert coach.session.state == "setup" and coach.session.next_deadline() is None


def test_stop_during_a_hold_says_to_come_out_slowly() -> None:
    coach = _kneeling_hold()
    coach.say("stop")
    assert "Come out of the position slowly." in coach.texts[-1]
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("stop")  # not in position yet: nothing to come out of
    assert "Come out" not in coach.texts[-1]


def test_wait_after_the_nudge_keeps_the_hold_from_starting_until_ready() -> None:
    from voicecoach.grammar import load_grammar

    assert load_grammar().match("wait") == Intent("pause")
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.wait(30.0)
    assert keys(coach.cues[-1:]) == ["ready_nudge"]
    coach.say("pause")  # "wait"
    coach.wait(600.0)
    assert coach.session.state == "paused" and coach.events("hold_started") == []
    coach.say("ready")
    assert coach.session.state == "hold"
    # The nudge is said once per wait, not again and again.
    assert keys(coach.cues).count("ready_nudge") == 1


def test_more_time_to_settle_when_the_position_changes() -> None:
    """Settle times are routine data: getting down onto the floor and up from lying to kneeling
    take longer than a side switch."""
    coach = Coach(checkins=False, settle_s=15.0)
    coach.say("start_routine", routine="full")
    waits = {}
    while coach.session.view().exercise != "deeper variation":
        view = coach.session.view()
        waits[(view.exercise, view.side)] = coach.session.next_deadline() - coach.now  # type: ignore[operator]
        coach.say("skip")
    assert waits[("constructive rest", None)] == 30.0
    assert waits[("psoas slide", "left")] == 15.0
    assert waits[("hip stirring", "right")] == 15.0
    assert waits[("kneeling psoas stretch", "left")] == 30.0
    assert waits[("kneeling psoas stretch", "right")] == 15.0


def test_the_deeper_variation_is_asked_for_and_declining_it_is_no_skip() -> None:
    coach = Coach(checkins=False, progress=Progress(1, 1, 1))
    coach.say("start_routine", routine="hip")
    for _ in range(2):
        coach.say("ready")
        coach.wait(30.0)
    assert coach.texts[-1].endswith(
        "If that felt easy, say ready for the deeper variation, or skip."
    )
    # Said once: the exercise's "why" before the question must not say "if it feels easy" too.
    assert coach.texts[-1].lower().count("easy") == 1, coach.texts[-1]
    said = coach.say("skip")
    assert keys(said)[:2] == ["declined", "routine_done"]
    summary = coach.session.summary
    assert summary is not None and summary.completed
    assert summary.steps_skipped == 0 and summary.declined == 1
    assert "skipped" not in coach.texts[-1] and "Every hold done in full." in coach.texts[-1]


def test_an_add_time_in_either_kneeling_hold_stops_at_thirty_seconds() -> None:
    coach = _kneeling_hold()
    coach.say("extend", seconds=30)
    assert keys(coach.cues[-1:]) == ["extend_at_max"] and "thirty seconds" in coach.texts[-1]
    coach.wait(25.0)
    coach.say("ready")
    coach.wait(30.0)
    coach.say("ready")  # the deeper variation
    coach.say("extend")
    assert keys(coach.cues[-1:]) == ["extend_at_max"]
    assert coach.session.view().total_s == 30.0


def test_slower_and_faster_change_the_slides_pace_within_the_files_limits(source_text) -> None:
    """ "Move slower than you think you need to": slower stretches every phase (8 s -> 10 s ->
    12 s, the file's slowest), faster shortens it back, never under the file's 8 s (issue 19:
    it went to 6 s against the source), and says why; the voice changes too. The five slides
    still end as five slides."""
    assert "Move slower than you think you need to." in source_text("somatic-release")
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("skip")
    coach.say("ready")
    began = coach.now
    said = coach.say("slower")
    assert keys(said) == ["pace_slower"] and said[0].adjust == SpeechAdjust(rate_delta=-20)
    assert coach.texts[-1] == "Taking it more slowly: ten seconds each way."
    coach.wait(10.0)
    assert [c.prompt_key for c in coach.cues[-1:]] == ["pace"]  # heel back up, after 10 s
    coach.say("slower")
    said = coach.say("slower")
    assert keys(said) == ["pace_slower_limit"] and "twelve seconds" in coach.texts[-1]
    coach.wait(108.0)
    assert coach.session.state == "side_switch"
    ended = coach.events("hold_ended")[0]
    assert ended.data["reps"] == 5
    # 10 s at 1.25 times as long (8 s of the routine's timing), then its other 72 s at 1.5.
    assert ended.at - began == pytest.approx(10.0 + 72.0 * 1.5)
    assert ended.data["achieved_s"] == pytest.approx(118.0)
    coach.say("ready")  # the right leg keeps the slower pace until told otherwise
    for _ in range(4):
        coach.say("faster")
    assert coach.texts[-1] == (
        "I'll keep it at eight seconds each way: move slower than you think you need to."
    )
    coach.wait(80.0)
    assert coach.events("hold_ended")[-1].data["reps"] == 5
    assert coach.events("hold_ended")[-1].data["achieved_s"] == pytest.approx(80.0)


def test_constructive_rest_says_its_range_and_no_ease_out_before_the_slide() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("ready")
    assert coach.texts[-1] == "Ten to fifteen minutes; I'll time ten minutes."
    coach.wait(600.0)
    after = keys(coach.cues)[keys(coach.cues).index("countdown") :]
    assert after[1:3] == ["setup", "setup_end"]  # straight on: the position is the same
    assert "hold_done" not in after
    # The position in full, not "like before": constructive rest may have been skipped.
    assert "knees bent and your feet flat on the floor" in coach.texts[-2]
    assert "like before" not in coach.texts[-2]
    # The hip stirring to the kneeling stretch changes position: ease out first.
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="full")
    while coach.session.view().exercise != "hip stirring" or coach.session.view().side != "right":
        coach.say("skip")
    coach.say("ready")
    coach.wait(45.0)
    assert "hold_done" in keys(coach.cues[-4:])


def test_skipping_the_first_slide_leg_names_the_next_leg_and_the_skip() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("skip")
    said = coach.say("skip")
    assert keys(said) == ["side_switch"]
    assert coach.texts[-1] == (
        "Left side skipped. Now the right leg. Say ready when you're in position."
    )


def test_the_constructive_rest_setup_gives_instructions_first_then_why() -> None:
    coach = Coach(checkins=False)
    said = coach.say("start_routine", routine="release")
    assert keys(said) == ["start", "setup", "setup_end"]
    instructions, why = coach.texts[-2:]
    assert instructions.split(". ")[1] == "Lie on your back on the floor"
    assert "gravity" not in instructions.lower() and "Gravity does the work" in why
    assert why.endswith(("Say ready when you're in position.", "Say ready when you're set."))
    sentences = [x for x in instructions.split(".") if x.strip()]
    assert max(len(x.split()) for x in sentences) <= 12
    coach.say("repeat")
    steps = instructions.split(". ", 1)[1]
    assert coach.texts[-2].endswith(steps) and "gravity" not in coach.texts[-1].lower()


def test_a_session_stopped_after_a_skip_is_not_called_all_skipped() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("skip")
    coach.say("stop")
    coach.say("stop")
    summary = coach.session.summary
    assert summary is not None and not summary.completed and not summary.all_skipped
    assert coach.texts[-1].startswith("Stopped after")


def test_stop_while_paused_in_a_hold_also_says_to_come_out_slowly() -> None:
    coach = _kneeling_hold()
    coach.say("pause")
    coach.say("stop")
    assert "Come out of the position slowly." in coach.texts[-1]


def test_slower_said_as_the_last_slide_ends_without_a_tick_moves_on_first() -> None:
    """A late tick: the slides' end was due before "slower" arrived. The end is said and the
    session moves on; "slower" then only slows the voice, the hip stirring being no slide."""
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("skip")
    coach.say("skip")  # to the right leg
    coach.say("ready")
    coach.clock.set(coach.now + 81.0)  # past the end of five slides, no tick on the way
    said = coach.say("slower")
    assert coach.session.view().exercise == "hip stirring"
    assert keys(said)[-1] == "speech_slower" and "setup" in keys(said)
    assert coach.events("hold_ended")[-1].data["reps"] == 5


def _commands_in(text: str) -> list[str]:
    """The clauses of something the coach says that the grammar takes for a command."""
    from voicecoach.grammar import load_grammar, normalize_utterance

    grammar = load_grammar()
    clauses = (normalize_utterance(c) for c in re.split(r"[.!?:;,]", text))
    return [c for c in clauses if c and grammar.match(c) is not None]


def test_the_answers_to_add_time_and_to_a_rating_are_never_heard_as_commands() -> None:
    """The microphone hears the coach: "Five minutes more." is the grammar's "add five minutes",
    and "Four, got it." holds a bare "four", a rating. Every wording of these answers, with the
    session's own data, must be free of commands."""
    coach = Coach(checkins=True)
    coach.say("start_routine", routine="release")
    answers = [c for c in coach.say("rating", value=4) if c.prompt_key == "rating_thanks"]
    coach.say("ready")
    answers += [c for c in coach.say("extend", seconds=300) if c.prompt_key == "extended"]
    assert [c.prompt_key for c in answers] == ["rating_thanks", "extended"]
    dialog = Dialog(seed=0)
    for cue in answers:
        for _ in range(len(dialog.variants(dialog.key_for(cue)))):  # every wording in turn
            text = dialog.render(cue)
            assert _commands_in(text) == [], text


def test_one_step_and_one_repetition_are_said_in_the_singular(tmp_path: Path) -> None:
    """A routine of one's own may have one step, or one repetition: "one steps" is wrong."""
    (tmp_path / "short.yaml").write_text(
        "id: short\nnames: [short]\nexercises:\n"
        "  - {id: slide, names: [slide], why: It slides., setup: [Lie down.], sides: none,\n"
        "     reps: {count: 1, phases: [{seconds: 5, say: [Slide.]}]}}\n",
        encoding="utf-8",
    )
    dialog = Dialog(seed=0)
    said = []
    for _ in range(2):  # every wording of the start
        session = Session(RoutineLibrary.load(user_dir=tmp_path), checkins=False)
        cues = session.handle(IntentHeard(Intent("start_routine", {"routine": "short"}), 0.0))
        cues += session.handle(IntentHeard(Intent("ready"), 1.0))
        said += [dialog.render(c) for c in cues if c.prompt_key in ("start", "reps_start")]
    assert len(said) == 4, said
    assert all("one step," in t.lower() for t in said[0::2]), said
    assert all("one slow repetition." in t.lower() for t in said[1::2]), said


@pytest.mark.parametrize("between", [["stop", "resume"], ["pause", "resume"], ["repeat"]])
def test_after_pain_the_hold_waits_for_ready_even_across_stop_and_resume(
    between: list[str],
) -> None:
    """A person in pain may well say "stop", then "resume" to carry on with the session: the
    hold must still start only when they say ready, never on its own after a nudge."""
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("ready")
    coach.wait(5.0)
    coach.say("pain")
    for name in between:
        coach.say(name)
    coach.wait(600.0)
    assert coach.session.state == "setup"
    assert len(coach.events("hold_started")) == 1
    assert "ready_nudge" not in keys(coach.cues)
    coach.say("ready")
    assert len(coach.events("hold_started")) == 2


# --- issue 19: what was done is what is told and stored ----------------------------------------


def test_next_inside_the_sources_range_ends_the_hold_as_done_not_skipped(source_text) -> None:
    """ "next" at 22.5 s of the source's "20 to 30 seconds": the side is done, the coach says it
    counts, and no skip is recorded; before 20 s it is still a skip."""
    assert "Hold the stretch for 20 to 30 seconds" in source_text("kneeling-psoas-stretch")
    assert "Just lie there for 10-15 minutes" in source_text("somatic-release")
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("ready")
    coach.wait(22.5)
    said = coach.say("skip")
    assert keys(said) == ["done_in_range", "side_switch"]
    assert (
        coach.texts[-2]
        == "Twenty-three seconds, inside the twenty to thirty seconds: that one counts."
    )
    assert "skipped" not in coach.texts[-1]
    assert coach.events("skipped") == []
    assert coach.events("hold_ended")[-1].data == {"achieved_s": 22.5, "ended": "done"}
    coach.say("ready")
    coach.wait(19.0)
    coach.say("skip")  # under the source's twenty seconds: a skip
    assert [e.data["ended"] for e in coach.events("hold_ended")] == ["done", "skip"]
    assert len(coach.events("skipped")) == 1
    coach.say("skip")  # the deeper variation, left out
    summary = coach.session.summary
    assert summary is not None
    left, right = summary.results[:2]
    assert left.completed and not left.skipped and left.achieved_s == 22.5
    assert not right.completed and right.achieved_s == 19.0
    assert summary.steps_skipped == 1


def test_next_while_paused_inside_the_range_is_done_too() -> None:
    """Constructive rest made fifteen minutes, then "next" at ten minutes forty, paused."""
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("ready")
    coach.say("extend", seconds=300)
    coach.wait(640.0)
    coach.say("pause")
    coach.wait(5.0)
    said = coach.say("skip")
    assert keys(said)[0] == "done_in_range"
    assert "ten to fifteen minutes" in coach.texts[len(coach.texts) - len(said)]
    assert coach.events("hold_ended")[-1].data == {"achieved_s": 640.0, "ended": "done"}
    assert coach.session.state == "setup" and coach.session.view().exercise == "psoas slide"


def test_a_hold_whose_length_is_the_coachs_choice_is_skipped_as_before() -> None:
    """The hip stirring's 45 s is the coach's own: no source range makes 30 s "done"."""
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    while coach.session.view().exercise != "hip stirring":
        coach.say("skip")
    coach.say("ready")
    coach.wait(30.0)
    said = coach.say("skip")
    assert "done_in_range" not in keys(said)
    assert coach.events("hold_ended")[-1].data["ended"] == "skip"


def test_a_summary_with_most_steps_skipped_says_what_was_done_not_all_in_full() -> None:
    """Issue 19: 8 of 9 steps skipped was told as "All in full, except constructive rest,
    skipped; psoas slide, skipped; and two more." """
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="full")
    while not coach.session.finished:
        view = coach.session.view()
        if (view.exercise, view.side, view.state) == ("kneeling psoas stretch", "left", "setup"):
            coach.say("ready")
            coach.wait(30.0)
        else:
            coach.say("skip")
    summary = coach.session.summary
    assert summary is not None and summary.completed
    assert summary.steps_skipped == 6 and summary.declined == 1
    text = coach.texts[-1]
    assert "all in full" not in text.lower(), text
    assert "You held only kneeling psoas stretch left thirty seconds." in text
    # With most held in full, the exceptions are named as before.
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("ready")
    coach.wait(30.0)
    coach.say("skip")
    coach.say("skip")
    assert "All in full, except kneeling psoas stretch right, skipped." in coach.texts[-1]


# --- issue 19: the deeper variation asks first, and not where it hurt --------------------------


def _to_the_deeper_variation(coach: Coach, pain_on: tuple[str, ...] = ()) -> None:
    """Both sides of the kneeling stretch, pain stopping the sides in `pain_on` twice (then
    skipped), the others held in full."""
    coach.say("start_routine", routine="hip")
    for side in ("left", "right"):
        if side in pain_on:
            for held in (8.9, 8.4):
                coach.say("ready")
                coach.wait(held)
                coach.say("pain")
            coach.say("skip")
        else:
            coach.say("ready")
            coach.wait(30.0)


def test_the_deeper_variation_is_asked_for_before_its_instructions(source_text) -> None:
    """The source makes it optional ("If that is feeling easy and you want to get in a bit
    deeper lift your arm ..."): the question comes first, the instructions after "ready"."""
    text = source_text("kneeling-psoas-stretch")
    assert "If that is feeling easy and you want to get in a bit deeper lift your arm" in text
    coach = Coach(checkins=False)
    _to_the_deeper_variation(coach)
    offered = coach.texts[-1]
    assert keys(coach.cues[-1:]) == ["offer"]
    assert offered.endswith("If that felt easy, say ready for the deeper variation, or skip.")
    assert "Lift your arm" not in offered and "Lean back" not in offered
    told = coach.say("ready")
    assert keys(told) == ["setup", "setup_end"]
    assert "Lift your arm on the same side as the leg that is back." in coach.texts[-2]
    assert coach.texts[-1].startswith("Say ready when you're")
    assert coach.session.state == "setup"
    assert len(coach.events("hold_started")) == 2  # not begun: "ready" again, or the settle time
    coach.say("repeat")
    assert "Lift your arm" in coach.texts[-2]
    coach.say("ready")
    assert coach.session.state == "hold"
    assert coach.session.view().exercise == "deeper variation"


def test_the_deeper_variation_is_not_offered_on_a_side_pain_stopped() -> None:
    """Pain stopped the kneeling stretch twice on the right: the deeper variation is asked
    about for the left only, and the right is left out with one sentence saying why."""
    coach = Coach(checkins=False)
    _to_the_deeper_variation(coach, pain_on=("right",))
    assert keys(coach.cues[-1:]) == ["offer"]  # the left side, whose stretch did not hurt
    coach.say("ready")
    coach.say("ready")
    assert coach.session.view().side == "left"
    said = coach.wait(30.0)
    # Out of the deeper stretch first: no side switch follows to say so.
    assert keys(said)[-4:-2] == ["hold_done", "declined_after_pain"]
    assert (
        "No deeper variation on the right side: pain stopped the kneeling psoas stretch there."
        in coach.texts
    )
    assert coach.session.finished
    summary = coach.session.summary
    assert summary is not None and summary.declined == 1
    deeper = [r for r in summary.results if r.exercise == "deeper_kneeling_stretch"]
    assert [(r.side, r.completed) for r in deeper] == [("left", True)]


def test_no_deeper_variation_when_pain_stopped_both_sides() -> None:
    coach = Coach(checkins=False)
    _to_the_deeper_variation(coach, pain_on=("left", "right"))
    assert "offer" not in keys(coach.cues)
    assert (
        "No deeper variation today: pain stopped the kneeling psoas stretch on both sides."
        in coach.texts
    )
    assert coach.session.finished
    assert [e.data.get("reason") for e in coach.events("declined")] == ["pain"]


def test_pain_on_the_left_stretch_moves_the_offer_to_the_right_side() -> None:
    coach = Coach(checkins=False)
    _to_the_deeper_variation(coach, pain_on=("left",))
    assert keys(coach.cues[-2:]) == ["declined_after_pain", "offer"]
    assert coach.texts[-2] == (
        "No deeper variation on the left side: pain stopped the kneeling psoas stretch there."
    )
    coach.say("ready")
    coach.say("ready")
    assert coach.session.state == "hold" and coach.session.view().side == "right"


# --- issue 19: a start heard unsure is asked back -------------------------------------------


def _heard(coach: Coach, name: str, confidence: float, *, over: bool = False, **slots):
    from voicecoach.messages import Utterance

    event = IntentHeard(
        Intent(name, slots),  # type: ignore[arg-type]
        coach.now,
        utterance=Utterance(name, Intent(name, slots), confidence),  # type: ignore[arg-type]
        after_speech=over,
    )
    return coach._take(coach.session.handle(event))


def test_a_start_heard_unsure_is_asked_back_and_starts_on_yes() -> None:
    """ "help" at idle was heard as "do hip" (0.85) and started the hip routine."""
    coach = Coach(checkins=False)
    coach.greet()
    asked = _heard(coach, "start_routine", 0.85, routine="hip")
    assert keys(asked) == ["confirm_start"]
    assert coach.texts[-1] == "The hip routine? Say yes to start it."
    assert coach.session.state == "idle" and coach.events("session_started") == []
    started = _heard(coach, "ready", 0.9)  # "yes" is ready
    assert keys(started)[0] == "start" and coach.session.state == "setup"
    assert coach.events("session_started")[0].routine == "hip"


def test_a_sure_start_starts_at_once_and_one_over_the_coach_is_asked_back() -> None:
    coach = Coach(checkins=False)
    assert keys(_heard(coach, "start_routine", 0.93, routine="release"))[0] == "start"
    coach = Coach(checkins=False)
    assert keys(_heard(coach, "start_routine", 0.99, over=True, routine="release")) == [
        "confirm_start"
    ]
    # Said again, the same routine: that is a yes.
    assert keys(_heard(coach, "start_routine", 0.8, routine="release"))[0] == "start"
    # Typed on the command line (start --routine): no utterance, nothing to ask.
    coach = Coach(checkins=False)
    assert keys(coach.say("start_routine", routine="hip"))[0] == "start"


def test_an_unanswered_or_other_answer_lets_the_question_go() -> None:
    coach = Coach(checkins=False)
    _heard(coach, "start_routine", 0.85, routine="hip")
    coach.wait(12.0)
    assert keys(coach.cues[-1:]) == ["confirm_lapsed"]
    assert coach.session.state == "idle" and coach.session.next_deadline() is None
    assert keys(coach.say("ready")) == ["which_routine"]  # the question has gone
    _heard(coach, "start_routine", 0.85, routine="hip")
    assert keys(coach.say("help"))[0] == "help"
    assert keys(coach.say("ready")) == ["which_routine"]
    assert coach.events("session_started") == []


def test_help_names_the_voice_commands_and_wait() -> None:
    """Issue 19: help never listed slower, faster, louder, quieter or "wait"."""
    from voicecoach.grammar import load_grammar

    grammar = load_grammar()
    coach = Coach(checkins=False)
    coach.say("help")
    assert "To change my voice, say slower or faster, louder or quieter." in coach.texts[-1]
    coach.say("start_routine", routine="release")
    coach.say("help")
    assert "Wait holds everything until you say resume." in coach.texts[-1]
    assert grammar.match("wait") == Intent("pause")
    coach.say("ready")
    coach.say("help")
    assert "Wait" not in coach.texts[-1] and "louder or quieter" in coach.texts[-1]
    coach.say("skip")  # to the psoas slide: slower and faster change its pace
    coach.say("help")
    assert "Say slower or faster to change the pace and my voice" in coach.texts[-1]
    for word in ("slower", "faster", "louder", "quieter"):
        assert grammar.match(word) == Intent(word)


def test_help_at_idle_names_the_stretch_and_keeps_the_coachs_advice_apart(source_text) -> None:
    """Issue 19: "this stretch" with none named, and "If pain persists, see a health
    professional" said right after "The source advises", which the sources do not say."""
    hip = source_text("kneeling-psoas-stretch")
    assert "Repeat 2 \u2013 3 times daily" in hip
    assert "pain inside your hip or your groin" in hip
    for name in ("kneeling-psoas-stretch", "somatic-release"):
        assert "professional" not in source_text(name) and "persists" not in source_text(name)
    coach = Coach(checkins=False)
    coach.say("help")
    coach.say("help")
    more = coach.texts[-1]
    assert keys(coach.cues[-1:]) == ["help_more"]
    assert "this stretch" not in more
    assert "The source advises doing the kneeling psoas stretch two to three times a day." in more
    assert "My own advice, not the source's: if pain persists, see a health professional." in more


def test_the_slide_setup_does_not_point_back_at_a_skipped_constructive_rest(source_text) -> None:
    assert "Lie on your back with knees bent (like above)." in source_text("somatic-release")
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("skip")
    assert coach.session.view().exercise == "psoas slide"
    assert (
        "Lie on your back with your knees bent and your feet flat on the floor." in coach.texts[-2]
    )
    assert "like before" not in coach.texts[-2] and "like above" not in coach.texts[-2]
