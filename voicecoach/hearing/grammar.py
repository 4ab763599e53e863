"""The command grammar: grammars/en.yaml matched, sampled and turned into Vosk's phrase list.

PocketSphinx builds its own search graph from the sampled sentences
(voicecoach.hearing.asr.automaton).

Pure: text in, intents out. Nothing here imports vosk or touches audio (see voicecoach.hearing.asr).
"""

from __future__ import annotations

import copy
import itertools
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from hassil import (
    Alternative,
    Expression,
    Intents,
    ListReference,
    Permutation,
    RangeSlotList,
    RuleReference,
    Sentence,
    Sequence,
    TextChunk,
    TextSlotList,
    recognize,
)
from hassil.errors import HassilError

from voicecoach.errors import VoicecoachError
from voicecoach.messages import Intent, SlotValue
from voicecoach.paths import GRAMMAR_FILE

_LOGGER = logging.getLogger(__name__)

UNK = "[unk]"
"""What Vosk outputs for speech outside the phrase list."""

ROUTINE_LIST = "routine"
"""The slot list whose values are routine ids; load_grammar adds the user's routine names to it."""

_SPOKEN_NAME = re.compile(r"^[a-z']+( [a-z']+)*$")
# Words a template already allows around a routine name ("start [the|my] {routine} [routine]").
_NAME_PREFIXES = ("the ", "my ")
_NAME_SUFFIXES = (" routine", " session")
# Anything that is not a letter, digit, apostrophe or space separates words.
_NON_WORD = re.compile(r"[^\w' ]+")


@dataclass(frozen=True)
class _Expansion:
    text: str
    slots: dict[str, SlotValue] = field(default_factory=dict)


class Grammar:
    """One loaded grammar: the single source for matching text and for Vosk's phrase list."""

    def __init__(self, intents: Intents, source: str = "<dict>") -> None:
        self._intents = intents
        self.source = source

    @property
    def intent_names(self) -> list[str]:
        return list(self._intents.intents)

    def match(self, text: str) -> Intent | None:
        """The intent of a whole utterance, or None when it is not exactly a command.

        Any "[unk]" (Vosk heard something off the phrase list) rejects the utterance: a command
        word inside a longer sentence must not fire.
        """
        if UNK in text.lower():
            return None
        normalized = normalize_utterance(text)
        if not normalized:
            return None
        result = recognize(normalized, self._intents)
        if result is None:
            return None
        slots: dict[str, SlotValue] = {}
        for name, entity in result.entities.items():
            slots[name] = _slot_value(entity.value)
        return Intent(result.intent.name, slots)

    @cached_property
    def _expansions(self) -> list[tuple[str, Intent]]:
        out: list[tuple[str, Intent]] = []
        seen: set[tuple[str, str, tuple[tuple[str, SlotValue], ...]]] = set()
        for intent_name, intent in self._intents.intents.items():
            for data in intent.data:
                rules = {**self._intents.expansion_rules, **data.expansion_rules}
                fixed = {k: _slot_value(v) for k, v in data.slots.items()}
                for sentence in data.sentences:
                    for exp in _expand(sentence.expression, self._intents.slot_lists, rules):
                        text = _clean(exp.text)
                        slots = {**fixed, **exp.slots}
                        key = (text, intent_name, tuple(sorted(slots.items())))
                        if not text or key in seen:
                            continue
                        seen.add(key)
                        out.append((text, Intent(intent_name, slots)))
        _LOGGER.info("grammar %s: %d sentences", self.source, len(out))
        return out

    def routine_named(self, text: str) -> str | None:
        """The routine id a spoken routine name stands for in the grammar's routine list
        ("hips" -> "hip", "somatic" -> "release"), with the words the start templates allow
        around it ("the", "my", "routine", "session"); None when it names none. What `start
        --routine` accepts, so the command line takes the names the voice does."""
        slot_list = self._intents.slot_lists.get(ROUTINE_LIST)
        if not isinstance(slot_list, TextSlotList):
            return None
        name = normalize_utterance(text)
        stem = routine_name_stem(name) or name
        for value in slot_list.values:
            for exp in _expand(value.text_in, self._intents.slot_lists, {}):
                said = normalize_utterance(exp.text)
                if said in (name, stem):
                    out = value.value_out if value.value_out is not None else said
                    return str(out)
        return None

    def sample_sentences(self) -> list[tuple[str, Intent]]:
        """Every sentence the grammar can produce, with the intent and slots it should give."""
        return list(self._expansions)

    def vosk_phrases(self) -> list[str]:
        """Whole phrases for Vosk's grammar mode (lower case, words only) plus "[unk]"."""
        phrases = sorted({text.lower() for text, _ in self._expansions})
        bad = [p for p in phrases if re.search(r"[^a-z' ]", p)]
        if bad:
            raise VoicecoachError(
                f"grammar {self.source}: phrase {bad[0]!r} has characters Vosk cannot take; "
                "write numbers in words and use letters only"
            )
        return [*phrases, UNK]

    def words(self) -> set[str]:
        """Every word the grammar uses (what must be in the model's vocabulary)."""
        return {w for text, _ in self._expansions for w in text.lower().split()}


def normalize_utterance(text: str) -> str:
    """Lower case, punctuation dropped (apostrophes kept), whitespace collapsed."""
    text = text.lower().replace("\u2019", "'")
    text = _NON_WORD.sub(" ", text)
    return " ".join(w.strip("'") for w in text.split() if w.strip("'"))


def load_grammar(
    path: Path | str = GRAMMAR_FILE, routine_names: Mapping[str, str] | None = None
) -> Grammar:
    """Load a grammar file; `routine_names` maps extra spoken names to routine ids.

    User routine names ("my morning routine" -> "morning") join the built-in synonyms in the
    routine list, so they are both matched and handed to Vosk.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise VoicecoachError(f"cannot read grammar {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise VoicecoachError(f"grammar {path} is not valid YAML: {_one_line(exc)}") from exc
    return grammar_from_dict(data, routine_names, source=str(path))


def grammar_from_dict(
    data: Mapping[str, Any],
    routine_names: Mapping[str, str] | None = None,
    source: str = "<dict>",
) -> Grammar:
    """Build a grammar from hassil's intents format already parsed (tests write these inline)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("intents"), Mapping):
        raise VoicecoachError(f"grammar {source}: expected a mapping with an 'intents' key")
    data = copy.deepcopy(dict(data))
    if routine_names:
        lists = data.setdefault("lists", {})
        routine_list = lists.setdefault(ROUTINE_LIST, {"values": []})
        values = routine_list.setdefault("values", [])
        known = {
            (v["in"] if isinstance(v, Mapping) else v).lower(): i for i, v in enumerate(values)
        }
        for spoken, routine_id in routine_names.items():
            name = _routine_spoken_name(spoken, source)
            entry = {"in": name, "out": routine_id}
            if name in known:
                previous = values[known[name]]
                if isinstance(previous, Mapping) and previous.get("out") != routine_id:
                    _LOGGER.warning("routine name %r now means %r", name, routine_id)
                values[known[name]] = entry
            else:
                known[name] = len(values)
                values.append(entry)
    try:
        intents = Intents.from_dict(data)
    except (HassilError, KeyError, TypeError, ValueError, AssertionError) as exc:
        raise VoicecoachError(f"grammar {source} is not valid: {_one_line(exc)}") from exc
    grammar = Grammar(intents, source)
    try:
        grammar.sample_sentences()
    except HassilError as exc:
        raise VoicecoachError(f"grammar {source} is not valid: {_one_line(exc)}") from exc
    return grammar


def routine_name_stem(spoken: str) -> str | None:
    """The words a routine name adds to the routine list ("My Morning Routine" -> "morning"),
    or None when the recognizer cannot take it (anything but letters and apostrophes).

    The templates already allow "the"/"my" before and "routine"/"session" after a name, so those
    are dropped; the stem is also how the coach says the name ("the morning routine").
    """
    name = " ".join(spoken.lower().replace("\u2019", "'").split())
    if not _SPOKEN_NAME.match(name):
        return None
    stripped = name
    for prefix in _NAME_PREFIXES:
        if stripped.startswith(prefix):
            stripped = stripped[len(prefix) :]
    for suffix in _NAME_SUFFIXES:
        if stripped.endswith(suffix):
            stripped = stripped[: -len(suffix)]
    return stripped or name


def _routine_spoken_name(spoken: str, source: str) -> str:
    stem = routine_name_stem(spoken)
    if stem is None:
        raise VoicecoachError(
            f"routine name {spoken!r} cannot be spoken to the recognizer: use letters only, "
            "with numbers written as words"
        )
    return stem


def _expand(
    expr: Expression, slot_lists: Mapping[str, Any], rules: Mapping[str, Sentence]
) -> Iterator[_Expansion]:
    """Every text an expression produces, with the slot values that text carries."""
    if isinstance(expr, TextChunk):
        yield _Expansion(expr.original_text if expr.original_text is not None else expr.text)
    elif isinstance(expr, Alternative):
        for item in expr.items:
            yield from _expand(item, slot_lists, rules)
    elif isinstance(expr, Sequence):
        parts = [list(_expand(item, slot_lists, rules)) for item in expr.items]
        yield from _join_all(itertools.product(*parts))
    elif isinstance(expr, Permutation):
        parts = [list(_expand(item, slot_lists, rules)) for item in expr.items]
        for order in itertools.permutations(parts):
            yield from _join_all(itertools.product(*order), sep=" ")
    elif isinstance(expr, ListReference):
        slot_list = slot_lists.get(expr.list_name)
        if slot_list is None:
            raise VoicecoachError(f"grammar uses the list {{{expr.list_name}}} but defines none")
        if isinstance(slot_list, RangeSlotList):
            raise VoicecoachError(
                f"list {{{expr.list_name}}} is a number range: spell its values out as a list "
                "so Vosk gets words, not digits"
            )
        if not isinstance(slot_list, TextSlotList):
            raise VoicecoachError(f"list {{{expr.list_name}}} must be a list of values")
        for value in slot_list.values:
            for exp in _expand(value.text_in, slot_lists, rules):
                out = value.value_out if value.value_out is not None else _clean(exp.text)
                yield _Expansion(exp.text, {**exp.slots, expr.slot_name: _slot_value(out)})
    elif isinstance(expr, RuleReference):
        rule = rules.get(expr.rule_name)
        if rule is None:
            raise VoicecoachError(f"grammar uses the rule <{expr.rule_name}> but defines none")
        yield from _expand(rule.expression, slot_lists, rules)
    else:
        raise VoicecoachError(f"grammar has an expression voicecoach cannot expand: {expr!r}")


def _join_all(combos: Iterator[tuple[_Expansion, ...]], sep: str = "") -> Iterator[_Expansion]:
    for combo in combos:
        slots: dict[str, SlotValue] = {}
        for part in combo:
            slots.update(part.slots)
        yield _Expansion(sep.join(part.text for part in combo), slots)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _slot_value(value: Any) -> SlotValue:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | str):
        return value
    return str(value)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
