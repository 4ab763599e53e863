"""The library: the built-in routines follow their sources, the person's own load beside them or
are set aside with one line, names and includes are judged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.routines.helpers import (
    BUILTIN_IDS,
    GOOD,
    NAMES,
    assert_one_line,
    routine_text,
    run_cli,
    user_dir,
    write,
)
from voicecoach.errors import VoicecoachError
from voicecoach.routines import BUILTIN_DIR, RoutineLibrary, load_routine_file


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
    # "Move slower than you think you need to": slower, never quicker than its 8 s (issue 19).
    assert slide.reps is not None and slide.reps.slowest > 1.0 == slide.reps.fastest
    assert slide.reps.coach_choice and stirring.hold and stirring.hold.coach_choice
    text = (BUILTIN_DIR / "release.yaml").read_text()
    assert "coach_choice: the source gives no count" in text


def test_a_binary_user_file_beside_a_valid_one_stops_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    routines = user_dir(tmp_path, monkeypatch)
    (routines / "junk.yaml").write_bytes(b"\x00\xff\xfe" + bytes(range(256)))
    (routines / "utf16.yaml").write_bytes(GOOD.replace("morning", "evening").encode("utf-16"))
    good = write(routines, GOOD, "good.yaml")
    lib = RoutineLibrary.load()  # what `start` and `demo` load
    assert BUILTIN_IDS | {"morning"} <= set(lib.ids())
    assert sorted(b.path.name for b in lib.broken) == ["junk.yaml", "utf16.yaml"]
    code, out, err = run_cli(["routines"], capsys)
    assert code == 1 and "morning (user:" in out and "hip (built-in)" in out
    assert err.count("\n") == 2 and "Traceback" not in err
    code, out, _err = run_cli(["check", str(good)], capsys)
    assert code == 0 and "ok - routine 'morning'" in out


@pytest.mark.parametrize("name", sorted(NAMES))
def test_check_refuses_a_name_the_session_cannot_take(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
) -> None:
    routines = user_dir(tmp_path, monkeypatch)
    path = write(routines, routine_text("mine", name))
    code, _out, err = run_cli(["check", str(path)], capsys)
    assert code == 1
    assert_one_line(err, f"{path}: names[0]: ", NAMES[name])
    # The session loads the same library: the file is set aside, the built-ins stay sayable.
    from voicecoach.hearing.grammar import load_grammar

    lib = RoutineLibrary.load()
    assert "mine" not in lib.ids() and set(lib.ids()) >= BUILTIN_IDS
    grammar = load_grammar(routine_names=lib.spoken_names())
    assert grammar.match("start the hip routine").slots == {"routine": "hip"}  # type: ignore[union-attr]


def test_two_user_routines_with_one_name_keep_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    routines = user_dir(tmp_path, monkeypatch)
    write(routines, routine_text("aaa", "evening"), "a.yaml")
    second = write(routines, routine_text("bbb", "evening routine"), "b.yaml")
    lib = RoutineLibrary.load()
    assert "aaa" in lib.ids() and "bbb" not in lib.ids()
    code, _out, err = run_cli(["check", str(second)], capsys)
    assert code == 1
    assert_one_line(err, "names[0]: expected a name no other routine answers to", "'aaa'")


@pytest.mark.parametrize("name", ["morning routine", "my morning", "the morning session"])
def test_a_name_is_spoken_without_a_second_routine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    from voicecoach.dialog import Dialog
    from voicecoach.messages import Intent, IntentHeard
    from voicecoach.session import Session

    routines = user_dir(tmp_path, monkeypatch)
    write(routines, routine_text("morning", name))
    lib = RoutineLibrary.load()
    assert lib.get("morning").name == "morning"
    session = Session(lib)
    cues = session.handle(IntentHeard(Intent("start_routine", {"routine": "morning"}), 0.0))
    texts = " ".join(Dialog(seed=1).render(c) for c in cues)
    assert "the morning routine" in texts, texts
    assert "routine routine" not in texts and "the my" not in texts


def test_routines_including_each_other_name_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    routines = user_dir(tmp_path, monkeypatch)
    first = write(routines, routine_text("ping", "ping", "routine: pong"), "ping.yaml")
    second = write(routines, routine_text("pong", "pong", "routine: ping"), "pong.yaml")
    code, _out, err = run_cli(["routines"], capsys)
    assert code == 1
    assert err.splitlines() == [
        f"voicecoach: skipped {first}: exercises: expected no circular includes, got the loop "
        "ping -> pong -> ping",
        f"voicecoach: skipped {second}: exercises: expected no circular includes, got the loop "
        "pong -> ping -> pong",
    ]
    code, _out, err = run_cli(["check", str(first)], capsys)
    assert code == 1
    assert_one_line(err, "the loop ping -> pong -> ping")


def test_includes_that_multiply_are_bounded(tmp_path: Path) -> None:
    """Each routine including the one before it 30 times: 30**3 steps, refused at once."""
    write(tmp_path, routine_text("r0", "base"), "r0.yaml")
    for n in range(1, 4):
        items = "\n  - ".join([f"routine: r{n - 1}"] * 30)
        write(tmp_path, routine_text(f"r{n}", f"level {'a' * n}", items), f"r{n}.yaml")
    lib = RoutineLibrary.load(user_dir=tmp_path)
    assert {"r0", "r1"} <= set(lib.ids()) and set(lib.ids()) >= BUILTIN_IDS
    errors = {b.path.name: b.error for b in lib.broken}
    assert "expected at most 500 exercises with included routines" in errors["r2.yaml"]
    assert "expected at most 500 exercises" in errors["r3.yaml"]


def test_includes_nested_too_deep_are_named(tmp_path: Path) -> None:
    write(tmp_path, routine_text("r0", "base"), "r0.yaml")
    for n in range(1, 10):
        write(
            tmp_path, routine_text(f"r{n}", f"level {'a' * n}", f"routine: r{n - 1}"), f"r{n}.yaml"
        )
    lib = RoutineLibrary.load(user_dir=tmp_path)
    assert "r8" in lib.ids() and "r9" not in lib.ids()
    assert "expected includes at most 8 deep, got r9 -> r8" in lib.broken[0].error


def test_check_and_loading_agree_on_two_files_with_one_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write(tmp_path, routine_text("same", "first one"), "a.yaml")
    second = write(tmp_path, routine_text("same", "second one"), "b.yaml")
    lib = RoutineLibrary.load(user_dir=tmp_path)
    assert [b.path for b in lib.broken] == [second] and lib.get("same").source == first
    assert run_cli(["check", str(first)], capsys)[0] == 0
    code, _out, err = run_cli(["check", str(second)], capsys)
    assert code == 1
    assert_one_line(err, f"{second}: id: expected a new routine id, got 'same'")


def test_every_number_in_the_builtin_routines_says_where_it_comes_from() -> None:
    """The sources give few numbers; the rest are the coach's own and the files say so: a number
    with no comment on its line (or just above it) is a number nobody can check."""
    unexplained = []
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            value = line.split("#")[0]
            if not re.search(r":\s*\[?[0-9.]+(,\s*[0-9.]+)*\]?\s*$", value):
                continue
            said = "#" in line or lines[i - 1].strip().startswith("#")
            said = said or (i >= 1 and "#" in lines[i - 1] and "phases:" in lines[i - 1])
            if not said or not re.search(r"source|coach", line + lines[i - 1]):
                unexplained.append(f"{path.name}:{i + 1}: {line.strip()}")
    assert unexplained == []


def test_the_source_copies_are_the_sources() -> None:
    """tests/data/sources holds copies of ../shared/sources for clones with nothing beside
    them; where the originals are, the copies must be the same text."""
    from tests.conftest import SOURCES_COPY, SOURCES_DIR

    copies = sorted(p.name for p in SOURCES_COPY.glob("*.txt"))
    assert copies == ["kneeling-psoas-stretch.txt", "somatic-release.txt"]
    if not SOURCES_DIR.is_dir():
        pytest.skip(
            f"{SOURCES_DIR} is not beside this clone (a fresh CI clone has only the copies)"
        )
    for name in copies:
        original = (SOURCES_DIR / name).read_text(encoding="utf-8")
        assert (SOURCES_COPY / name).read_text(encoding="utf-8") == original, name
