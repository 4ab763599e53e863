"""What a hold says and when: pace words, "last one", the countdown and the reminders."""

from __future__ import annotations

from pathlib import Path

from tests.session.coach import DIALOG, Coach
from voicecoach.dialog import Dialog
from voicecoach.messages import (
    Cue,
    Intent,
    IntentHeard,
    Tick,
)
from voicecoach.routines import RoutineLibrary
from voicecoach.session import Session


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
    from voicecoach.hearing.grammar import load_grammar, normalize_utterance

    grammar = load_grammar()
    dialog = Dialog(seed=0)
    for data in ({"seconds": 10}, {"seconds": 10, "next": "psoas slide"}):
        for _ in range(6):
            text = dialog.render(Cue("countdown", data))
            for clause in text.replace(",", ".").split("."):
                said = normalize_utterance(clause)
                assert not said or grammar.match(said) is None, text


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
