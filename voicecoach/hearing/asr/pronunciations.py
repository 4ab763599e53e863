"""Pronunciations for PocketSphinx's dictionary: words it lacks, from a data file beside the
grammar (a grammar word with no pronunciation at all is an error, never a silently dropped
phrase), and every word's British (non-rhotic, broad-a) variants, since the dictionary is
American.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from voicecoach.errors import VoicecoachError
from voicecoach.paths import PRONUNCIATIONS_FILE

_VOWELS = frozenset(
    ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]
)
_CENTRING = frozenset({"IH", "EH", "UH", "IY"})
"""Vowels that keep a schwa where a non-rhotic accent drops the r ("here" HH IH AH)."""
_BROAD_A_NEXT = frozenset({"F", "S", "TH"})


def british_variants(phones: list[str]) -> list[list[str]]:
    """The pronunciations a Southern British speaker gives a word the CMU dictionary spells the
    American way (none if they are the same):
    - non-rhotic: an r after a vowel and not before one is not said ("faster" F AE S T AH,
      "hold on" unchanged), and a final or preconsonantal ER is a schwa;
    - broad a: AE before F, S, TH or N + T/S/CH is AA ("faster" F AA S T AH, "can't").
    The first variant is non-rhotic alone, the second adds the broad a; duplicates are dropped."""
    rhotic_free: list[str] = []
    for index, phone in enumerate(phones):
        following = phones[index + 1] if index + 1 < len(phones) else None
        before_vowel = following is not None and following in _VOWELS
        if phone == "R" and index > 0 and phones[index - 1] in _VOWELS and not before_vowel:
            if phones[index - 1] in _CENTRING:
                rhotic_free.append("AH")
            continue
        rhotic_free.append("AH" if phone == "ER" and not before_vowel else phone)
    broad = list(rhotic_free)
    for index, phone in enumerate(broad):
        after = broad[index + 1 : index + 3]
        nasal_cluster = len(after) == 2 and after[0] == "N" and after[1] in {"T", "S", "CH"}
        if phone == "AE" and after and (after[0] in _BROAD_A_NEXT or nasal_cluster):
            broad[index] = "AA"
    out: list[list[str]] = []
    for variant in (rhotic_free, broad):
        if variant != phones and variant not in out:
            out.append(variant)
    return out


def add_british_variants(decoder: Any, words: Iterable[str]) -> int:
    """Give each word its British variants as alternate pronunciations ("faster(2)"), which the
    grammar search follows as the same word; returns how many were added."""
    added = 0
    for word in sorted(set(words)):
        known = decoder.lookup_word(word)
        if not known:
            continue
        taken = {tuple(known.split())}
        alt = 2
        while alternate := decoder.lookup_word(f"{word}({alt})"):
            taken.add(tuple(alternate.split()))
            alt += 1
        for variant in british_variants(known.split()):
            if tuple(variant) in taken:
                continue
            decoder.add_word(f"{word}({alt})", " ".join(variant), False)
            taken.add(tuple(variant))
            alt += 1
            added += 1
    return added


def read_pronunciations(path: Path = PRONUNCIATIONS_FILE) -> dict[str, str]:
    """word -> phones, from a CMU-dict style file ("psoas S OW AH S"; '#' starts a comment)."""
    out: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VoicecoachError(f"cannot read pronunciations {path}: {exc.strerror or exc}") from exc
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, _, phones = line.partition(" ")
        if not phones.strip() or not re.fullmatch(r"[a-z']+", word):
            raise VoicecoachError(f"{path}:{number}: expected 'word PHONES', got {raw.strip()!r}")
        out[word] = " ".join(phones.split())
    return out


def add_missing_words(
    decoder: Any, words: set[str] | frozenset[str], pronunciations: Mapping[str, str]
) -> list[str]:
    """Give the decoder every grammar word its dictionary lacks; an error names any word with
    no pronunciation anywhere (never drop a phrase silently)."""
    missing = sorted(w for w in words if decoder.lookup_word(w) is None)
    unknown = [w for w in missing if w not in pronunciations]
    if unknown:
        raise VoicecoachError(
            f"grammar words with no pronunciation: {', '.join(unknown)} (add them to "
            f"{PRONUNCIATIONS_FILE})"
        )
    for word in missing:
        decoder.add_word(word, pronunciations[word], False)
    return missing
