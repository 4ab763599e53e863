"""Moving between steps: a routine from idle to its summary, check-ins, settling into position,
the deeper variation offered (and left out where it hurt), and what a finished session counts."""

from __future__ import annotations

import pytest

from tests.session.coach import Coach, hold_every_hip_side, keys
from voicecoach.messages import (
    Intent,
    Progress,
)
from voicecoach.summary import summarize


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


def test_wait_after_the_nudge_keeps_the_hold_from_starting_until_ready() -> None:
    from voicecoach.hearing.grammar import load_grammar

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
