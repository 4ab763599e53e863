"""The gate: which utterances may fire, over the coach and in quiet, and pain's lower bars."""

from __future__ import annotations

from dataclasses import replace

import pytest

from voicecoach.hearing.gate import GatePolicy, gate, syllables
from voicecoach.messages import Intent, Utterance

POLICY = GatePolicy()


def utt(name: str | None, conf: float = 0.95) -> Utterance:
    return Utterance(name or "[unk]", Intent(name) if name else None, conf)


# --- gating ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["stop", "pause", "skip"])
def test_barge_in_commands_pass_over_the_coach_when_sure(name: str) -> None:
    assert gate(utt(name, 0.9), coach_active=True, policy=POLICY).accept
    assert not gate(utt(name, 0.5), coach_active=True, policy=POLICY).accept
    assert gate(utt(name, 0.7), coach_active=True, policy=POLICY).accept == (name == "pain")


def test_a_command_that_waits_for_the_coach_must_not_share_its_words() -> None:
    """Acted on later, so held to more than a barge-in: the coach's "Keep your glutes squeezed."
    was decoded as "keep going please" (resume); a word of four letters or more in common
    marks the echo. "longer" over "I'll time ten minutes" shares none and waits."""
    said = ["Keep your glutes squeezed."]
    resume = Utterance("keep going please", Intent("resume"), 0.94)
    decision = gate(resume, coach_active=True, policy=POLICY, coach_said=said)
    assert not decision.accept and "'keep'" in decision.reason
    longer = Utterance("longer", Intent("extend"), 0.92)
    cue = ["Ten to fifteen minutes; I'll time ten minutes."]
    assert gate(longer, coach_active=True, policy=POLICY, coach_said=cue).after_speech
    # A barge-in is not held to it: "stop it hurts" over "Stop there. Ease out ..." is pain.
    pain = Utterance("stop it hurts", Intent("pain"), 0.9)
    stop_there = ["Stop there. Ease out of the position slowly."]
    assert gate(pain, coach_active=True, policy=POLICY, coach_said=stop_there).accept


def test_every_gate_rule_leans_towards_pain() -> None:
    """Issue 19: a wrong pain costs a few seconds, a lost one can cost an injury. Where "stop"
    or "skip" is refused (too short, too unsure, too long), pain heard the same way passes."""
    for name, taken in (("pain", True), ("stop", False), ("skip", False)):
        u = Utterance("ow" if name == "pain" else name, Intent(name), 0.95)
        # A 0.12 s burst: "ouch" clipped where it overlapped the coach (the 0.16 s floor).
        assert gate(u, coach_active=True, policy=POLICY, duration_s=0.12).accept is taken
        assert gate(u, coach_active=False, policy=POLICY, duration_s=0.0).accept is taken
        # A groan: "ow" drawn out over 1.8 s.
        assert gate(u, coach_active=False, policy=POLICY, duration_s=1.8).accept is taken
        # Unsure, in silence and over the coach.
        unsure = Utterance(u.text, u.intent, 0.35)
        assert gate(unsure, coach_active=False, policy=POLICY).accept is taken
        assert gate(replace(unsure, confidence=0.65), coach_active=True, policy=POLICY).accept is (
            taken
        )
    # The shortest bursts of the coach's echo (three and four frames) are not pain over it.
    for burst_s in (0.06, 0.08):
        assert not gate(
            utt("pain", 0.95), coach_active=True, policy=POLICY, duration_s=burst_s
        ).accept
        assert gate(utt("pain", 0.95), coach_active=False, policy=POLICY, duration_s=burst_s).accept
    # Chatter is still chatter: pain fitted over 4 s of talk is refused.
    assert not gate(utt("pain"), coach_active=False, policy=POLICY, duration_s=4.0).accept


def test_pain_in_the_coachs_own_words_is_still_its_echo() -> None:
    """The one rule pain keeps: the coach says "pain" ("Don't push into pain"), and its echo
    taken for pain would stop the hold again each time the coach answered it."""
    said = ["Stop there. Ease out of the position slowly. Don't push into pain."]
    pain = Utterance("pain", Intent("pain"), 0.95)
    assert not gate(pain, coach_active=True, policy=POLICY, coach_said=said).accept
    ouch = Utterance("ouch", Intent("pain"), 0.95)
    assert gate(ouch, coach_active=True, policy=POLICY, coach_said=said).accept


def test_pain_over_the_coach_needs_no_more_than_in_quiet() -> None:
    assert gate(utt("pain", 0.55), coach_active=True, policy=POLICY).accept
    assert not gate(utt("pain", 0.45), coach_active=True, policy=POLICY).accept


@pytest.mark.parametrize("name", ["repeat", "extend", "time_left", "rating", "resume", "slower"])
def test_other_commands_over_the_coach_wait_for_it_to_finish(name: str) -> None:
    """Issue 19: "longer" and "faster" said while the coach talked were dropped unanswered.
    They meet the barge-in bars and are acted on once the coach has finished."""
    decision = gate(utt(name, 0.99), coach_active=True, policy=POLICY)
    assert decision.accept and decision.after_speech
    assert "acted on once it has finished" in decision.reason
    assert not gate(utt(name, 0.7), coach_active=True, policy=POLICY).accept
    assert not gate(utt(name, 0.85), coach_active=True, policy=POLICY).accept  # a barge-in's
    said = ["Say that when you're set."]
    own = Utterance("say that", Intent(name), 0.99)
    assert not gate(own, coach_active=True, policy=POLICY, coach_said=said).accept
    quiet = gate(utt(name, 0.99), coach_active=False, policy=POLICY)
    assert quiet.accept and not quiet.after_speech


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("stop", 1),
        ("pause", 1),
        ("could you repeat that please", 6),
        ("how long left", 3),
        ("add another twenty more seconds please", 10),
        ("three", 1),
        ("it's a five", 3),
    ],
)
def test_syllables_are_counted_near_enough(text: str, count: int) -> None:
    assert syllables(text) == count


def test_a_command_laid_over_a_long_stretch_of_talk_is_refused() -> None:
    """The live bench's chatter: "do psoas release routine" heard over a 4.8 s sentence."""
    said = Utterance("do psoas release routine", Intent("start_routine"), 1.0)
    decision = gate(said, coach_active=False, policy=POLICY, duration_s=4.8)
    assert not decision.accept
    assert "longer than the words take" in decision.reason
    # The same words said slowly, with a pause, are a command.
    assert gate(said, coach_active=False, policy=POLICY, duration_s=2.6).accept
    slow = Utterance("give me twenty five more seconds please", Intent("extend"), 1.0)
    assert gate(slow, coach_active=False, policy=POLICY, duration_s=3.6).accept
    assert gate(utt("stop", 0.9), coach_active=True, policy=POLICY, duration_s=0.5).accept
    assert not gate(utt("stop", 0.9), coach_active=True, policy=POLICY, duration_s=2.0).accept


def test_a_command_heard_in_a_burst_too_short_for_any_command_is_refused() -> None:
    """The room's echo bursts (80 and 140 ms, heard as "quit": a barge-in "stop") against the
    fastest real command, "ow" at 220 words a minute (0.20 s)."""
    for burst_s in (0.06, 0.08, 0.14):
        decision = gate(utt("stop", 0.95), coach_active=True, policy=POLICY, duration_s=burst_s)
        assert not decision.accept
        assert "shorter than any command takes" in decision.reason
    assert gate(utt("pain", 0.95), coach_active=False, policy=POLICY, duration_s=0.2).accept
    assert gate(utt("stop", 0.95), coach_active=True, policy=POLICY, duration_s=0.2).accept


def test_a_barge_in_made_of_the_coachs_own_words_is_its_echo() -> None:
    """'Or say skip.' leaking past the echo estimate must not skip the step."""
    skip = Utterance("skip", Intent("skip"), 0.95)
    asked = "How stiff do your hips feel now, from zero to ten? Or say skip."
    decision = gate(skip, coach_active=True, policy=POLICY, coach_said=[asked])
    assert not decision.accept
    assert "coach's own words" in decision.reason
    # Words the coach is not saying still cut it short ...
    other = ["Say ready when you're in position."]
    assert gate(skip, coach_active=True, policy=POLICY, coach_said=other).accept
    # ... whole words only: "stopping" does not contain "stop" ...
    stop = Utterance("stop", Intent("stop"), 0.95)
    stopping = ["Stopping. Say resume within thirty seconds to carry on."]
    assert gate(stop, coach_active=True, policy=POLICY, coach_said=stopping).accept
    # ... and once the coach is quiet its last sentence does not matter.
    assert gate(skip, coach_active=False, policy=POLICY, coach_said=[asked]).accept


def test_non_commands_and_unsure_commands_never_fire() -> None:
    assert not gate(None, coach_active=False, policy=POLICY).accept
    assert not gate(utt(None), coach_active=False, policy=POLICY).accept
    assert not gate(utt("repeat", 0.3), coach_active=False, policy=POLICY).accept
