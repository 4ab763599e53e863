"""The session as a whole: every intent in every state, what makes sense when, help, a start heard
unsure, the settle time counted from the end of speech, and a core that stays pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.session.coach import DIALOG, SLOTS, Coach, keys, reach
from voicecoach.messages import (
    Intent,
    IntentHeard,
    SessionEvent,
    SpeechFinished,
    SpeechStarted,
)
from voicecoach.session import ALL_INTENTS, STATES


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
    from voicecoach.hearing.grammar import load_grammar

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
