"""Routine files: the built-in ones validate and say what the sources say; broken files give one
clear error naming the file, the field and what was expected; a broken user file never stops the
built-in routines."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from voicecoach import cli
from voicecoach.errors import VoicecoachError
from voicecoach.routines import BUILTIN_DIR, RoutineLibrary, load_routine_file

GOOD = """\
id: morning
names: [my morning routine, morning]
exercises:
  - id: rest
    names: [rest]
    why: It is restful.
    setup: [Lie down.]
    sides: none
    hold: {seconds: 60, max_seconds: 120, extend_seconds: 30}
"""


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lib() -> RoutineLibrary:
    return RoutineLibrary.load(user_dir=Path("/nonexistent-voicecoach-test"))


def test_every_builtin_file_validates() -> None:
    files = sorted(BUILTIN_DIR.glob("*.yaml"))
    assert [f.stem for f in files] == ["full", "hip", "release"]
    for path in files:
        routine = load_routine_file(path, builtin=True)
        assert routine.id == path.stem


def test_hip_is_the_kneeling_stretch_then_the_deeper_variation_on_both_sides(
    lib: RoutineLibrary,
) -> None:
    steps = lib.steps("hip")
    assert [(s.exercise.id, s.side) for s in steps] == [
        ("kneeling_psoas_stretch", "left"),
        ("kneeling_psoas_stretch", "right"),
        ("deeper_kneeling_stretch", "left"),
        ("deeper_kneeling_stretch", "right"),
    ]
    stretch = steps[0].exercise
    assert stretch.hold is not None
    assert (stretch.hold.seconds, stretch.hold.min_seconds) == (30, 20)  # source: 20 to 30 s
    assert "tailbone tucked under" in " ".join(stretch.setup)
    deeper = steps[2].exercise
    assert "lean back" in " ".join(deeper.setup).lower()
    info = lib.get("hip").info or ""
    assert "two to three times a day" in info
    assert "groin" in info and "outer buttock" in info and "professional" in info


def test_release_holds_and_paces_follow_the_issue(lib: RoutineLibrary) -> None:
    steps = lib.steps("release")
    crp = steps[0].exercise
    assert crp.sides == ()
    assert crp.hold is not None
    assert (crp.hold.seconds, crp.hold.max_seconds, crp.hold.extend_seconds) == (600, 900, 300)
    assert crp.hold.reminder_every and crp.hold.reminder_every >= 120  # sparse, not chatter
    slide = steps[1].exercise
    assert slide.id == "psoas_slide" and slide.sides == ("left", "right")
    assert slide.reps is not None and len(slide.reps.phases) == 2
    assert steps[3].exercise.id == "hip_stirring" and steps[3].exercise.sides == ("left", "right")


def test_full_is_release_then_hip_by_reference(lib: RoutineLibrary) -> None:
    full = [(s.part, s.exercise.id, s.side) for s in lib.steps("full")]
    release = [("release", s.exercise.id, s.side) for s in lib.steps("release")]
    hip = [("hip", s.exercise.id, s.side) for s in lib.steps("hip")]
    assert full == release + hip
    assert [s.index for s in lib.steps("full")] == list(range(len(full)))
    assert "routine: release" in (BUILTIN_DIR / "full.yaml").read_text()


def test_no_source_claims_beyond_the_how_to() -> None:
    # Everything that can be spoken (comments aside) stays with the how-to and the short "why".
    spoken = json.dumps([yaml.safe_load(p.read_text()) for p in BUILTIN_DIR.glob("*.yaml")])
    for claim in ("adrenal", "detox", "emotion", "fear", "soul", "junk drawer", "stress"):
        assert claim not in spoken.lower()


def test_user_routine_name_becomes_sayable(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    lib = RoutineLibrary.load(user_dir=tmp_path)
    names = lib.spoken_names()
    assert names["my morning routine"] == "morning"
    assert names["hip"] == "hip" and names["release"] == "release" and names["full"] == "full"
    assert lib.find("My Morning Routine") is not None
    assert not lib.broken


BROKEN = {
    "missing field": (
        GOOD.replace("    why: It is restful.\n", ""),
        "exercises[0].why: missing",
    ),
    "wrong type": (
        GOOD.replace("seconds: 60,", "seconds: a minute,"),
        "exercises[0].hold.seconds: expected a number of seconds, got 'a minute'",
    ),
    "negative hold": (
        GOOD.replace("seconds: 60,", "seconds: -5,"),
        "exercises[0].hold.seconds: expected a positive number of seconds, got -5",
    ),
    "unknown side": (
        GOOD.replace("sides: none", "sides: [left, middle]"),
        "exercises[0].sides[1]: expected 'left' or 'right', got 'middle'",
    ),
    "empty steps": (
        GOOD.split("exercises:")[0] + "exercises: []\n",
        "exercises: expected a non-empty list of exercises, got []",
    ),
    "empty setup": (
        GOOD.replace("setup: [Lie down.]", "setup: []"),
        "exercises[0].setup: expected a non-empty list of strings, got []",
    ),
    "bad yaml": (
        GOOD.replace("names: [rest]", "names: [rest"),
        "expected valid YAML",
    ),
    "unknown field": (
        GOOD.replace("    sides: none\n", "    sides: none\n    colour: blue\n"),
        "exercises[0].colour: expected one of the known fields",
    ),
    "max below default": (
        GOOD.replace("max_seconds: 120", "max_seconds: 30"),
        "exercises[0].hold.max_seconds: expected at least seconds (60), got 30.0",
    ),
    "no hold or reps": (
        GOOD.replace("    hold: {seconds: 60, max_seconds: 120, extend_seconds: 30}\n", ""),
        "exercises[0].hold: missing; expected a hold (seconds) or reps (count and phases)",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_gives_one_clear_error(tmp_path: Path, case: str) -> None:
    text, expected = BROKEN[case]
    path = write(tmp_path, text, "broken.yaml")
    with pytest.raises(VoicecoachError) as info:
        load_routine_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "", "empty.yaml")
    with pytest.raises(VoicecoachError, match=r"empty\.yaml: file: expected a routine"):
        load_routine_file(path)


def test_broken_user_file_does_not_stop_builtins(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("seconds: 60,", "seconds: -5,"), "bad.yaml")
    write(tmp_path, "id: [oops", "worse.yaml")
    write(tmp_path, GOOD, "good.yaml")
    lib = RoutineLibrary.load(user_dir=tmp_path)
    assert {"hip", "release", "full", "morning"} <= set(lib.ids())
    assert sorted(b.path.name for b in lib.broken) == ["bad.yaml", "worse.yaml"]
    assert all(str(b.path) in b.error for b in lib.broken)


def test_user_routine_may_not_take_a_builtin_id(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("id: morning", "id: hip"), "clash.yaml")
    lib = RoutineLibrary.load(user_dir=tmp_path)
    assert lib.get("hip").builtin
    assert [b.path.name for b in lib.broken] == ["clash.yaml"]
    assert "expected a new routine id" in lib.broken[0].error


def test_user_routine_can_include_builtins_but_not_unknown_ones(tmp_path: Path) -> None:
    write(tmp_path, "id: twice\nnames: [twice]\nexercises:\n  - routine: hip\n  - routine: hip\n")
    write(tmp_path, "id: ghost\nnames: [ghost]\nexercises:\n  - routine: nope\n", "ghost.yaml")
    lib = RoutineLibrary.load(user_dir=tmp_path)
    assert len(lib.steps("twice")) == 2 * len(lib.steps("hip"))
    assert "ghost" not in lib.ids()
    assert "expected a known routine, got 'nope'" in lib.broken[0].error


def test_unknown_routine_id_is_a_clear_error(lib: RoutineLibrary) -> None:
    with pytest.raises(VoicecoachError, match="no routine 'yoga'; known routines"):
        lib.get("yoga")


# --- the command line -----------------------------------------------------------------------


def test_check_command_accepts_a_good_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD)
    assert cli.main(["check", str(path)]) == 0
    assert "ok - routine 'morning', 1 steps" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["unknown side", "bad yaml", "negative hold"])
def test_check_command_gives_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, expected = BROKEN[case]
    path = write(tmp_path, text, "broken.yaml")
    assert cli.main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"voicecoach: {path}: ") and expected in err


def test_check_command_on_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "nope.yaml: file: expected a routine YAML file" in capsys.readouterr().err


def test_routines_command_lists_all_and_the_broken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, GOOD, "good.yaml")
    write(tmp_path, BROKEN["unknown side"][0], "bad.yaml")
    assert cli.main(["routines", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for expected in (
        "hip (built-in)",
        "release (built-in)",
        "full (built-in)",
        "morning (user:",
        "constructive rest [constructive_rest]: hold ten minutes (up to fifteen minutes)",
        "kneeling psoas stretch [kneeling_psoas_stretch]: hold thirty seconds per side",
        "psoas slide [psoas_slide]: 5 repetitions",
        "bad.yaml: exercises[0].sides[1]: expected 'left' or 'right', got 'middle'",
        # Numbers the sources do not give are labelled as the coach's own; the source's are
        # said as the source gives them.
        "[coach's choice: the source gives no count]",
        "hip stirring [hip_stirring]: hold forty-five seconds per side (up to two minutes) "
        "[coach's choice: the source gives no time]",
        "the source says twenty to thirty seconds",
        "the source says ten to fifteen minutes",
        "deeper variation [deeper_kneeling_stretch]",
        "optional, asked first",
    ):
        assert expected in out
    kneeling = next(line for line in out.splitlines() if "[kneeling_psoas_stretch]" in line)
    assert "coach's choice" not in kneeling and "(up to thirty seconds)" in kneeling


def test_the_kneeling_holds_follow_their_source(lib: RoutineLibrary) -> None:
    """ "Hold the stretch for 20 to 30 seconds, breathing deeply": both kneeling holds say the
    range, stop "add time" at 30 s, and begin with the breathing; the deeper variation is
    asked for ("If that is feeling easy...")."""
    steps = lib.steps("hip")
    for step in steps:
        hold = step.exercise.hold
        assert hold is not None
        assert hold.source_range == (20, 30) and hold.max_seconds == 30 and hold.seconds == 30
        assert hold.begin == "breathing deeply"
        assert not any(r.lower().rstrip(".") == "breathe deeply" for r in hold.reminders)
    assert steps[0].exercise.optional is None
    assert steps[2].exercise.optional == (
        "If that felt easy, say ready for the deeper variation, or skip."
    )
    # Lying on the floor to kneeling takes longer to get into than the side switch.
    kneel = steps[0].exercise
    assert kneel.reposition_seconds and kneel.settle_seconds
    assert kneel.reposition_seconds > kneel.settle_seconds


def test_the_release_follows_its_source(lib: RoutineLibrary) -> None:
    steps = lib.steps("release")
    crp, slide, stirring = steps[0].exercise, steps[1].exercise, steps[3].exercise
    assert crp.hold is not None and crp.hold.source_range == (600, 900)  # "10-15 minutes"
    # Short instructions first; the why is said after them, and is not among them.
    assert all(len(line.split()) <= 12 for line in crp.setup)
    assert "gravity" in crp.why.lower() and not any("why" in line.lower() for line in crp.setup)
    assert crp.position == slide.position  # no "ease out" between them
    assert slide.reps is not None and slide.reps.slowest > 1.0 > slide.reps.fastest
    assert slide.reps.coach_choice and stirring.hold and stirring.hold.coach_choice
    text = (BUILTIN_DIR / "release.yaml").read_text()
    assert "coach_choice: the source gives no count" in text


def test_new_fields_are_checked(tmp_path: Path) -> None:
    cases = {
        "source_range: [30, 20]": r"hold.source_range\[1\]: expected at least 30",
        "source_range: 20": r"hold.source_range: expected two numbers",
        "begin: ''": r"hold.begin: expected a non-empty string",
    }
    for field, message in cases.items():
        bad = GOOD.replace("extend_seconds: 30}", f"extend_seconds: 30, {field}}}")
        with pytest.raises(VoicecoachError, match=message):
            load_routine_file(write(tmp_path, bad, "bad.yaml"))
    bad = GOOD.replace("sides: none", "sides: none\n    reposition_seconds: -1")
    with pytest.raises(VoicecoachError, match=r"reposition_seconds: expected zero or more"):
        load_routine_file(write(tmp_path, bad, "bad.yaml"))


def test_an_error_quotes_a_long_wrong_value_briefly_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.yaml"
    path.write_text("just some notes\n" * 200)
    with pytest.raises(VoicecoachError) as caught:
        load_routine_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: routine: expected a mapping of fields, got 'just some")
    assert "\n" not in message
    assert len(message) < len(str(path)) + 120


def test_check_accepts_a_file_that_includes_a_routine_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`routines` loads a user file that includes another user routine; `check` must agree."""
    write(tmp_path, GOOD, "morning.yaml")
    write(tmp_path, BROKEN["unknown side"][0], "bad.yaml")  # a broken neighbour is not its fault
    more = "id: more\nnames: [more]\nexercises:\n  - routine: morning\n"
    path = write(tmp_path, more, "more.yaml")
    assert "more" in RoutineLibrary.load(user_dir=tmp_path).ids()
    assert cli.main(["check", str(path)]) == 0, capsys.readouterr().err
    assert "ok - routine 'more', 1 steps" in capsys.readouterr().out
    ghost = write(tmp_path, "id: ghost\nnames: [ghost]\nexercises:\n  - routine: nope\n", "g.yaml")
    assert cli.main(["check", str(ghost)]) == 1
    assert "expected a known routine, got 'nope'" in capsys.readouterr().err


def test_an_empty_reps_beside_a_hold_is_no_second_kind(tmp_path: Path) -> None:
    """`reps:` left empty (null) is no reps at all, as every other empty field is taken."""
    path = write(tmp_path, GOOD + "    reps:\n")
    assert load_routine_file(path).items[0].hold is not None  # type: ignore[union-attr]
    both = write(tmp_path, GOOD + "    reps: {count: 2, phases: [{seconds: 4, say: [Go.]}]}\n")
    with pytest.raises(VoicecoachError, match=r"exercises\[0\]: expected either hold or reps"):
        load_routine_file(both)
