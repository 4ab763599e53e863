"""The coach's own sentences: the speech the microphone hears most that is not a command.

A grammar search forces any sound onto some command; given the coach's sentences as paths of
their own, its voice (and the person reading along) lands on them instead and is rejected.
Taken from the prompts file (placeholders dropped: each stretch between them is a phrase) and
from every routine's setup, reasons, reminders, switches and pace words. Sentences the grammar
itself calls a command are left out: those stay commands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from voicecoach.hearing.grammar import Grammar, normalize_utterance

MIN_WORDS = 2
"""Shorter stretches ("Paused", "Skipped") are too close to commands to be useful paths."""

_SPLIT = re.compile(r"\{[^}]*\}|[.?!:;,]")


def phrases(text: str) -> Iterator[str]:
    """Normalized stretches of a prompt or routine text, split at placeholders and punctuation."""
    for part in _SPLIT.split(text):
        words = normalize_utterance(part)
        if len(words.split()) >= MIN_WORDS:
            yield words


def coach_texts() -> list[str]:
    """Every text the coach may say, from the prompts file and the routine library."""
    from voicecoach.dialog import load_prompts
    from voicecoach.routines import RoutineLibrary

    texts: list[str] = []
    for variants in load_prompts().values():
        texts.extend(str(v) for v in (variants if isinstance(variants, list) else [variants]))
    library = RoutineLibrary.load(warn=False)  # the caller has warned about broken files
    for routine in library.routines():
        for _routine_id, exercise in library.exercises(routine.id):
            texts.append(exercise.why)
            texts.extend(exercise.setup)
            texts.extend(t for t in (exercise.switch, exercise.info) if t)
            if exercise.hold is not None:
                texts.extend(exercise.hold.reminders)
            if exercise.reps is not None:
                for phase in exercise.reps.phases:
                    texts.extend(phase.say)
    return texts


def coach_sentences(grammar: Grammar, texts: Iterable[str] | None = None) -> list[str]:
    """The coach's phrases that are not commands, normalized, sorted, each once."""
    found = {p for text in (coach_texts() if texts is None else texts) for p in phrases(text)}
    return sorted(p for p in found if grammar.match(p) is None)
