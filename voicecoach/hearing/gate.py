"""Which utterances may fire (pure): the gate between what the engine heard and the session.

While the coach speaks, and for a short tail after, a command must meet a stricter confidence
and not be the coach's own words; the barge-in commands (stop, pause, skip, pain) then cut it
short, the others are acted on once it has finished. A command heard in speech much longer than
its words take is chatter the search fitted it to, and one heard in a burst shorter than any
command is a scrap of echo. Pain has lower bars of its own on all of these (`GatePolicy.pain_*`):
a wrong pain costs seconds, a lost one more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from voicecoach.hearing.grammar import normalize_utterance
from voicecoach.messages import Utterance

BARGE_IN = frozenset({"stop", "pause", "skip", "pain"})
"""Commands that may cut the coach short; everything else waits until it has finished."""


@dataclass(frozen=True)
class GatePolicy:
    min_confidence: float = 0.5
    """Lowest per-word confidence for any command while the coach is quiet."""
    barge_in_confidence: float = 0.8
    """Stricter bar for a command heard over (or just after) the coach's own voice."""
    echo_tail_s: float = 0.35
    """How long after the coach stops its voice may still be in the room (reverb, buffers)."""
    barge_in: frozenset[str] = BARGE_IN
    max_base_s: float = 0.8
    max_s_per_syllable: float = 0.4
    """A command is refused when the speech it was heard in lasted longer than `max_base_s`
    plus this per syllable of its words: then the search has laid the command over a longer
    stretch of talk. Chatter heard as commands in the live bench lasted 2.8 to 6.2 s ("do psoas
    release routine" over a 4.8 s sentence); 76 espeak-ng commands, rates 110 to 175 words a
    minute, took at most 0.81 of what this allows (the slowest, "give me twenty five more
    seconds please" at 110, 3.6 s)."""
    min_s: float = 0.16
    """A command is refused when the speech it was heard in lasted less than this: a burst of
    echo the canceller left as the person's words overlapped the coach's (60 to 140 ms in the
    room, heard as "quit", "five", and once taken for a barge-in "stop"). The shortest command
    espeak-ng says, "ow" at 220 words a minute, lasted 0.20 s. Never pain's: see below."""
    # Pain has bars of its own, all lower: a wrong pain (a cough or "no" taken for "ow") costs
    # a few seconds and a "say ready", a lost one can cost an injury. Every rule here leans
    # towards letting pain through, and these are where it does (issue 19). bench/pain_gate.py
    # (PocketSphinx, 88 pain lines in 4 voices, half 0.3 s into a coach sentence): with these
    # bars 77 are taken, as with no bars at all, against 75 with the other commands' bars; the
    # false pains ("no", "oh", "how" heard as "ow", at 0.84 to 0.94) pass either bar, and none
    # of the coach's 59 sentences of a whole session was heard as pain at any confidence.
    after_speech_confidence: float = 0.9
    """Lowest confidence for a command heard over the coach that does not cut it short: it is
    acted on once the coach has finished, so it is held to more than a barge-in. The coach's own
    voice decoded directly (tests/hearing/test_asr_speech.py) gave "let's go" at 0.81 for its "Not
    now"; the person's "longer" over a cue came at 0.85 to 0.92 in the demo."""
    pain_confidence: float = 0.3
    """Lowest confidence for pain while the coach is quiet."""
    pain_barge_in_confidence: float = 0.5
    """Lowest confidence for pain heard over (or just after) the coach: no more than any command
    needs in quiet. With PocketSphinx, "my lower back hurts" 0.3 s into a coach sentence came at
    0.76 to 0.78; with Whisper, "ouch" right after "ready", over the hold cue, at 0.65, and
    Whisper's pain is kept from 0.5 (its own bar)."""
    pain_min_s: float = 0.0
    """Pain in quiet is never refused for being short: "ow" said fast."""
    pain_min_over_coach_s: float = 0.09
    """Pain over the coach is refused only in the shortest bursts the detector can make (60 and
    80 ms: three and four frames): in the room such bursts of the coach's own echo were heard
    as "it hurts" and "it's aching", and one ended a hold a moment before the person's real
    "ow" (which then found no hold to end). "ouch" clipped where it overlapped the coach lasted
    0.12 s, and passes."""
    pain_max_base_s: float = 1.6
    """`max_base_s` for pain: "ow" may take 2.0 s (drawn out, or in a groan), still under the
    2.8 s of the shortest chatter the live bench heard as a command."""


def syllables(text: str) -> int:
    """About how many syllables `text` has: its vowel groups, a final silent e left out, at
    least one a word."""
    count = 0
    for word in normalize_utterance(text).split():
        stem = word[:-1] if word.endswith("e") and len(word) > 2 else word
        count += max(1, len(re.findall(r"[aeiouy]+", stem)))
    return count


@dataclass(frozen=True)
class GateDecision:
    accept: bool
    reason: str
    after_speech: bool = False
    """Accepted, to be acted on once the coach has finished speaking (not a barge-in)."""


def _words_inside(words: Sequence[str], text: str) -> bool:
    """Whether `words` stand, in order and side by side, in `text` (both as plain words)."""
    said = normalize_utterance(text).split()
    n = len(words)
    return n > 0 and any(said[i : i + n] == list(words) for i in range(len(said) - n + 1))


def gate(
    utterance: Utterance | None,
    *,
    coach_active: bool,
    policy: GatePolicy,
    coach_said: Sequence[str] = (),
    duration_s: float | None = None,
) -> GateDecision:
    """Whether an utterance may fire its intent.

    `coach_active`: the coach was speaking at some point during the utterance or within
    `policy.echo_tail_s` before its start. `coach_said`: the sentences it was playing then; a
    barge-in whose words are among them ("Or say skip.") is most likely its own echo, so it is
    refused even when the echo estimate let it through. The person can say it again once the
    coach is quiet. `duration_s`: how long the speech lasted (None: not known).
    """
    if utterance is None or utterance.intent is None:
        return GateDecision(False, "not a command")
    name = utterance.intent.name
    pain = name == "pain"
    if pain:
        min_s = policy.pain_min_over_coach_s if coach_active else policy.pain_min_s
    else:
        min_s = policy.min_s
    if duration_s is not None and duration_s < min_s:
        return GateDecision(
            False,
            f"{name!r} heard in {duration_s:.2f} s of sound, shorter than any command takes "
            f"(at least {min_s:.2f} s)",
        )
    if duration_s is not None:
        base = policy.pain_max_base_s if pain else policy.max_base_s
        allowed = base + policy.max_s_per_syllable * syllables(utterance.text)
        if duration_s > allowed:
            return GateDecision(
                False,
                f"{name!r} heard in {duration_s:.1f} s of speech, longer than the words take "
                f"(at most {allowed:.1f} s)",
            )
    if coach_active:
        # Over the coach every command meets the barge-in bars; one that does not cut the coach
        # short is acted on when it has finished, not dropped without an answer ("longer" said
        # over a cue). The coach's own echo is what the bars keep out.
        what = f"barge-in {name!r}" if name in policy.barge_in else f"{name!r} over the coach"
        bar = policy.pain_barge_in_confidence if pain else policy.barge_in_confidence
        if utterance.confidence < bar:
            return GateDecision(
                False, f"{what} at confidence {utterance.confidence:.2f} is too low"
            )
        words = normalize_utterance(utterance.text).split()
        for sentence in coach_said:
            # Kept for pain too: the coach says "pain" itself ("Don't push into pain"), and
            # its echo taken for pain would stop the hold again and again, each time the
            # coach answers it. The person's own words are rarely the coach's ("ouch", "my
            # knee hurts"), and they can say it again once the coach is quiet.
            if _words_inside(words, sentence):
                return GateDecision(False, f"{what} is the coach's own words ({sentence!r})")
        if name not in policy.barge_in:
            if utterance.confidence < policy.after_speech_confidence:
                return GateDecision(
                    False, f"{what} at confidence {utterance.confidence:.2f} is too low"
                )
            # Acted on later, so held to more: a word of four letters or more shared with what
            # the coach was saying marks its echo ("keep your glutes squeezed" decoded as "keep
            # going please"). Barge-ins keep the narrower rule: pain must not be lost to it.
            shared = sorted(
                {w for w in words if len(w) >= 4}
                & {w for sentence in coach_said for w in normalize_utterance(sentence).split()}
            )
            if shared:
                return GateDecision(
                    False, f"{what} shares {', '.join(shared)!r} with the coach's words: its echo"
                )
            return GateDecision(True, f"{what}: acted on once it has finished", after_speech=True)
        return GateDecision(True, what)
    bar = policy.pain_confidence if pain else policy.min_confidence
    if utterance.confidence < bar:
        return GateDecision(False, f"{name!r} at confidence {utterance.confidence:.2f} is too low")
    return GateDecision(True, name)
