"""Wording: durations in natural words, variants that rotate deterministically, every prompt
filled, and a summary short enough to say in under thirty seconds."""

from __future__ import annotations

import dataclasses
import itertools
import string
from pathlib import Path

import pytest

from voicecoach.dialog import Dialog, load_prompts, number_words, say_duration
from voicecoach.messages import Cue
from voicecoach.summary import SessionSummary, SideResult


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "no time at all"),
        (1, "one second"),
        (10, "ten seconds"),
        (30, "thirty seconds"),
        (29.6, "thirty seconds"),
        (45, "forty-five seconds"),
        (60, "one minute"),
        (61, "one minute and one second"),
        (90.4, "one minute and thirty seconds"),
        (260, "four minutes and twenty seconds"),
        (263, "about four minutes and twenty seconds"),
        (22.5, "twenty-three seconds"),
        (600, "ten minutes"),
        (900, "fifteen minutes"),
        (1850, "about thirty-one minutes"),
        (3600, "one hour"),
        (-5, "no time at all"),
    ],
)
def test_say_duration(seconds: float, words: str) -> None:
    assert say_duration(seconds) == words


def test_say_duration_without_about() -> None:
    assert say_duration(263, about=False) == "four minutes and twenty seconds"


@pytest.mark.parametrize(
    ("n", "words"), [(0, "zero"), (7, "seven"), (21, "twenty-one"), (100, "one hundred"),
                     (342, "three hundred and forty-two"), (1005, "one thousand and five")]
)  # fmt: skip
def test_number_words(n: int, words: str) -> None:
    assert number_words(n) == words


def test_variants_rotate_without_repeating_and_are_seedable() -> None:
    prompts = {"greet": ["a", "b", "c"], "one": ["only"]}
    dialog = Dialog(prompts, seed=3)
    said = [dialog.render(Cue("greet")) for _ in range(30)]
    assert set(said) == {"A", "B", "C"}
    assert all(x != y for x, y in itertools.pairwise(said))
    for i in range(0, 30, 3):  # every variant once in each round
        assert sorted(said[i : i + 3]) == ["A", "B", "C"]
    again = Dialog(prompts, seed=3)
    assert [again.render(Cue("greet")) for _ in range(30)] == said
    other = Dialog(prompts, seed=4)
    assert [other.render(Cue("greet")) for _ in range(30)] != said
    assert dialog.render(Cue("one")) == "Only"


def test_placeholders_are_filled_with_words() -> None:
    dialog = Dialog({"x": ["{remaining_cap} left, {side_name}."]})
    assert dialog.render(Cue("x", {"remaining": 263.2, "side_name": "left leg"})) == (
        "About four minutes and twenty seconds left, left leg."
    )


def test_every_placeholder_in_the_prompts_file_is_known() -> None:
    prompts = load_prompts()
    known = {
        "routines", "routine", "exercise", "side_part", "name", "steps_words", "duration",
        "duration_cap", "value", "value_words", "why_part", "steps", "switch", "side_name",
        "side_name_cap", "reps_words", "words", "text", "remaining", "remaining_cap", "next",
        "reps_left_words", "added", "added_cap", "max", "window", "allowed", "info", "total",
        "results", "extras", "before", "after", "ordinal", "days", "advised", "reps_added_words",
        "max_reps_words", "seconds", "seconds_cap", "offer", "begin_part", "range", "range_cap",
        "count", "skipped_side_cap", "times", "holds", "ordinal_cap", "steps_s", "reps_s",
        "achieved_cap", "base", "side", "voice_part", "wait_part",
    }  # fmt: skip
    for key, variants in prompts.items():
        if key == "intent_phrases":
            continue
        assert isinstance(variants, list)
        for variant in variants:
            names = {f for _, f, _, _ in string.Formatter().parse(variant) if f}
            assert names <= known, (key, names - known)


def test_unknown_prompt_key_is_said_as_words_not_a_crash() -> None:
    assert Dialog({"a": ["b"]}).render(Cue("no_such_key")) == "no such key"


def _full_summary() -> SessionSummary:
    results = (
        SideResult("constructive_rest", None, 900.0, completed=True),
        SideResult("psoas_slide", "left", 80.0, reps=5, completed=True),
        SideResult("psoas_slide", "right", 64.0, reps=4),
        SideResult("hip_stirring", "left", 45.0, completed=True),
        SideResult("hip_stirring", "right", 45.0, completed=True),
        SideResult("kneeling_psoas_stretch", "left", 30.0, completed=True),
        SideResult("kneeling_psoas_stretch", "right", 0.0, skipped=True),
        SideResult(
            "deeper_kneeling_stretch", "left", 30.0, stopped=1, stopped_s=12.0, completed=True
        ),
        SideResult("deeper_kneeling_stretch", "right", 22.5),
    )
    return SessionSummary(
        routine="full", total_s=1500.0, hold_s=sum(r.achieved_s for r in results),
        results=results, completed=True, steps_skipped=1, added_s=300.0, pauses=2,
        paused_s=40.0, pain_events=1, stops=0, stiffness_before=6, stiffness_after=3,
        sessions_today=2, streak_days=5, counts_for="hip", advised_today=2,
    )  # fmt: skip


_NAMES = {
    "constructive_rest": "constructive rest", "psoas_slide": "psoas slide",
    "hip_stirring": "hip stirring", "kneeling_psoas_stretch": "kneeling psoas stretch",
    "deeper_kneeling_stretch": "deeper variation",
}  # fmt: skip


def _full_summary_text() -> str:
    data = {"summary": _full_summary(), "names": _NAMES, "routine": "full"}
    data["advised"], data["advised_for"] = "two to three", "hip"
    return Dialog(seed=1).render(Cue("summary", data))


def test_summary_says_the_numbers_and_stays_short() -> None:
    text = _full_summary_text()
    for expected in (
        "twenty-five minutes",
        # Only the sides not held in full, two at most; the rest is history's detail.
        "All in full, except psoas slide right four repetitions; kneeling psoas stretch right, "
        "skipped; and one more.",
        "Pain stopped one hold.",
        "Stiffness six to three",
        "Second hip session today, of two to three advised",
        "five",
    ):
        assert expected.lower() in text.lower(), expected
    # Each fact once: the skipped side is in the results, the added time in the constructive
    # rest's fifteen minutes; counts of skips, pauses and added time are history's detail.
    for repeated in ("step skipped", "added", "pause", "pain once"):
        assert repeated not in text.lower(), repeated
    assert len(text.split()) <= 60, len(text.split())


def test_the_spoken_summary_takes_under_twenty_seconds_at_the_default_rate() -> None:
    """Measured, not estimated: the real speech engine renders the summary of a full routine
    with every kind of result at the coach's default rate."""
    from voicecoach.speaking.render import Pyttsx3Renderer, VoiceSettings

    renderer = Pyttsx3Renderer()
    try:
        speech = renderer.render(_full_summary_text(), VoiceSettings())
    finally:
        renderer.close()
    seconds = len(speech.samples) / speech.sample_rate
    assert 5.0 < seconds < 20.0, seconds


def test_summary_of_a_stopped_session_without_progress() -> None:
    summary = SessionSummary(
        routine="hip", total_s=65.0, hold_s=12.0,
        results=(SideResult("kneeling_psoas_stretch", "left", 12.0),), completed=False,
        steps_skipped=0, added_s=0.0, pauses=0, paused_s=0.0, pain_events=0, stops=1,
    )  # fmt: skip
    text = Dialog().render_summary(summary, {"kneeling_psoas_stretch": "kneeling stretch"})
    assert (
        text == "Stopped after one minute and five seconds. Kneeling stretch left twelve seconds."
    )


def test_a_stopped_session_is_not_counted_as_todays_session_or_the_streak() -> None:
    """Progress counts this session "if it completes"; a stopped one does not."""
    summary = SessionSummary(
        routine="hip", total_s=65.0, hold_s=12.0,
        results=(SideResult("kneeling_psoas_stretch", "left", 12.0),), completed=False,
        steps_skipped=0, added_s=0.0, pauses=0, paused_s=0.0, pain_events=0, stops=1,
        sessions_today=2, streak_days=5,
    )  # fmt: skip
    text = Dialog().render_summary(summary, {"kneeling_psoas_stretch": "kneeling stretch"})
    assert "session today" not in text and "day" not in text
    assert (
        text == "Stopped after one minute and five seconds. Kneeling stretch left twelve seconds."
    )


def test_summary_sides_cannot_be_heard_as_time_left() -> None:
    """The coach says time remaining as "thirty seconds left", so in the summary the side comes
    first: "left thirty seconds"."""
    summary = dataclasses.replace(_full_summary(), completed=False)  # every side is said
    text = Dialog(seed=1).render_summary(summary)
    assert "seconds left" not in text and "minutes left" not in text
    assert "kneeling psoas stretch left thirty seconds and right skipped" in text


def test_summary_leaves_out_sides_not_held_and_says_part_of_a_repetition_as_time() -> None:
    """Stopped in the right side's setup: no "right no time at all". Ten seconds into the
    first slide: not "zero repetitions"."""
    summary = SessionSummary(
        routine="hip", total_s=65.0, hold_s=40.0,
        results=(
            SideResult("kneeling_psoas_stretch", "left", 30.0),
            SideResult("kneeling_psoas_stretch", "right", 0.0),
            SideResult("psoas_slide", "left", 10.0, reps=0),
        ),
        completed=False, steps_skipped=0, added_s=0.0, pauses=0, paused_s=0.0, pain_events=0,
        stops=1,
    )  # fmt: skip
    text = Dialog().render_summary(summary)
    assert "no time at all" not in text and "zero" not in text
    assert "Kneeling psoas stretch left thirty seconds; psoas slide left ten seconds." in text


def test_side_switch_reads_well_with_every_builtin_side_name() -> None:
    """Side names are data ("right knee down, right arm up"); no variant may put "the" before
    one ("This time, the right knee down")."""
    from voicecoach.routines import RoutineLibrary

    lib = RoutineLibrary.load(user_dir=Path("/nonexistent-voicecoach-test"))
    dialog = Dialog(seed=0)
    for routine in lib.ids():
        for _, exercise in lib.exercises(routine):
            for side in exercise.sides:
                name = exercise.side_name(side)
                for _ in dialog.variants("side_switch"):
                    data = {"switch": exercise.switch, "side_name": name, "side": side}
                    assert f"the {name}" not in dialog.render(Cue("side_switch", data))
