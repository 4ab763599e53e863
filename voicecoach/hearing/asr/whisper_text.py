"""Whisper's text and the grammar's, side by side (pure): a transcript turned into the grammar's
words (digits spelled, sound tags dropped, a phrase Whisper repeated said once), and a grammar
sentence written the way Whisper wrote a transcript, so the neural engine
(voicecoach.hearing.asr.whisper) compares like with like.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from voicecoach.hearing.grammar import normalize_utterance


def number_words(n: int) -> str:
    """A number as the grammar spells it ("twenty five", "one hundred five"): the coach's own
    wording (voicecoach.dialog) without its hyphens and "and"."""
    from voicecoach.dialog import number_words as spoken

    return " ".join(w for w in spoken(n).replace("-", " ").split() if w != "and")


def digits_for_words(text: str) -> str:
    """Whisper writes numbers as digits ("25 more seconds"); the grammar as words."""

    def spell(match: re.Match[str]) -> str:
        value = int(match.group())
        return number_words(value) if value < 1000 else match.group()

    return re.sub(r"\d+", spell, text)


def cut_repeats(words: Sequence[Any]) -> list[Any]:
    """A sequence that is one phrase said again and again ("stop. stop. stop", Whisper looping
    in a short window) cut to the phrase once; any other sequence as it is."""
    n = len(words)
    for period in range(1, n // 2 + 1):
        if all(words[i] == words[i % period] for i in range(n)):
            return list(words[:period])
    return list(words)


def cut_repeated_text(transcript: str) -> str:
    """A transcript that says one phrase again and again, whatever its case and punctuation
    ("My Mac is not my Mac is not my Mac"), cut to the phrase once; any other as it is. Whisper
    loops like this in a short window on speech it cannot make out, and a loop scores as well
    as a real transcript, which would sink every command's margin."""
    words = transcript.split()
    keys = [normalize_utterance(w) for w in words]
    kept = cut_repeats(keys)
    if len(kept) == len(keys):
        return transcript
    return " ".join(words[: len(kept)]).rstrip(",;:")


def plain_words(transcript: str) -> str:
    """A transcript as the grammar's words: sound tags ("[Music]", "(coughs)", "*sigh*")
    dropped, digits spelled, lower case, punctuation gone, a repeated phrase said once."""
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*", " ", transcript)
    text = normalize_utterance(digits_for_words(text).replace("-", " "))
    return " ".join(cut_repeats(text.split()))


def whisper_style(sentence: str, transcript: str) -> str:
    """A grammar sentence written as Whisper wrote this transcript ("I"; digits when it used
    digits; its first letter's case; its closing punctuation, or none): scored in Whisper's own
    spelling, a right command is not penalized for the grammar's."""
    words = [
        "I" if w == "i" else ("I'" + w[2:] if w.startswith("i'") else w) for w in sentence.split()
    ]
    text = " ".join(words)
    if re.search(r"\d", transcript):
        text = _words_to_digits(text)
    first = next((c for c in transcript if c.isalpha()), "A")
    text = (text[:1].upper() if first.isupper() else text[:1]) + text[1:]
    stripped = transcript.rstrip()
    end = stripped[-1] if stripped and stripped[-1] in ".?!," else ""
    return text + end


@cache
def _number_table() -> dict[str, str]:
    return {number_words(n): str(n) for n in range(1, 1000)}


def _words_to_digits(text: str) -> str:
    table = _number_table()
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        for span in (4, 3, 2, 1):
            phrase = " ".join(words[i : i + span]).lower()
            if phrase in table:
                out.append(table[phrase])
                i += span
                break
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)
