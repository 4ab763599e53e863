"""The answers to the commands that move through a routine: repeat, skip ("next" inside the
source's range), extend, how long left, ready and a rating."""

from __future__ import annotations

import re

import pytest

from tests.session.coach import Coach, keys, kneeling_hold, reach
from voicecoach.dialog import Dialog


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


def test_unknown_routine_and_start_during_a_session() -> None:
    coach = Coach(checkins=False)
    assert keys(coach.say("start_routine", routine="yoga")) == ["unknown_routine"]
    assert keys(coach.say("start_routine")) == ["which_routine"]
    coach.say("start_routine", routine="hip")
    assert keys(coach.say("start_routine", routine="release")) == ["already_running"]


def test_repeat_while_paused_repeats_the_instructions_and_stays_paused() -> None:
    coach = reach("paused")
    said = coach.say("repeat")
    assert keys(said) == ["repeat_paused"]
    assert "tailbone" in coach.texts[-1] and "resume" in coach.texts[-1]
    assert coach.session.state == "paused"


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


def test_an_add_time_in_either_kneeling_hold_stops_at_thirty_seconds() -> None:
    coach = kneeling_hold()
    coach.say("extend", seconds=30)
    assert keys(coach.cues[-1:]) == ["extend_at_max"] and "thirty seconds" in coach.texts[-1]
    coach.wait(25.0)
    coach.say("ready")
    coach.wait(30.0)
    coach.say("ready")  # the deeper variation
    coach.say("extend")
    assert keys(coach.cues[-1:]) == ["extend_at_max"]
    assert coach.session.view().total_s == 30.0


def test_skipping_the_first_slide_leg_names_the_next_leg_and_the_skip() -> None:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("skip")
    said = coach.say("skip")
    assert keys(said) == ["side_switch"]
    assert coach.texts[-1] == (
        "Left side skipped. Now the right leg. Say ready when you're in position."
    )


def _commands_in(text: str) -> list[str]:
    """The clauses of something the coach says that the grammar takes for a command."""
    from voicecoach.hearing.grammar import load_grammar, normalize_utterance

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
