"""What the naive peers do with a transcript: find any grammar sentence inside it.

Full-vocabulary transcription plus keyword search is what most hobby voice projects do. Each
engine builds its own transcribing baseline on these two functions, so the benchmark can measure
what grammar-restricted decoding and rejection gain over it. Nothing here listens to the person.
"""

from __future__ import annotations

import re

from voicecoach.hearing.grammar import Grammar, normalize_utterance
from voicecoach.messages import Intent


def keyword_table(grammar: Grammar) -> list[tuple[re.Pattern[str], Intent]]:
    """Every grammar sentence as a word-bounded pattern, longest first."""
    sentences = sorted(grammar.sample_sentences(), key=lambda item: -len(item[0]))
    return [(re.compile(rf"\b{re.escape(text.lower())}\b"), intent) for text, intent in sentences]


def keyword_search(table: list[tuple[re.Pattern[str], Intent]], text: str) -> Intent | None:
    """The first (longest) grammar sentence found anywhere in the text: the naive approach."""
    normalized = normalize_utterance(text)
    for pattern, intent in table:
        if pattern.search(normalized):
            return intent
    return None
