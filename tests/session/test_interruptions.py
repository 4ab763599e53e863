"""Pause, pain, stop and resume: the hold clock freezes or ends, and the session says how to go
on; resuming an interrupted session."""

from __future__ import annotations

import pytest

from tests.session.coach import Coach, keys, kneeling_hold, reach
from voicecoach.messages import (
    ResumePoint,
)


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


def test_start_after_stop_does_not_ask_for_the_stop_that_was_just_said() -> None:
    coach = reach("stopped")
    said = coach.say("start_routine", routine="release")
    assert keys(said) == ["stopped_hint"]
    assert "stop first" not in coach.texts[-1]
    assert "resume" in coach.texts[-1] and "stop again" in coach.texts[-1]
    assert coach.session.state == "stopped"


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


def test_a_second_pain_on_the_same_step_offers_skip_or_stop_not_another_try() -> None:
    coach = kneeling_hold()
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
    coach = kneeling_hold()
    coach.say("pain")
    said = coach.say("repeat")
    assert keys(said) == ["setup", "setup_end"]
    assert "tailbone tucked under" in coach.texts[-2]
    assert "pain" not in " ".join(coach.texts[-2:]).lower()
    assert coach.session.state == "setup" and coach.session.next_deadline() is None


def test_stop_during_a_hold_says_to_come_out_slowly() -> None:
    coach = kneeling_hold()
    coach.say("stop")
    assert "Come out of the position slowly." in coach.texts[-1]
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("stop")  # not in position yet: nothing to come out of
    assert "Come out" not in coach.texts[-1]


def test_stop_while_paused_in_a_hold_also_says_to_come_out_slowly() -> None:
    coach = kneeling_hold()
    coach.say("pause")
    coach.say("stop")
    assert "Come out of the position slowly." in coach.texts[-1]


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
