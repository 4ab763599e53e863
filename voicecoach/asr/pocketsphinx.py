"""The PocketSphinx engine: the CMU US English model shipped inside the pocketsphinx wheel,
decoding with a grammar search compiled from grammars/en.yaml.

The only module (with bench/) that imports pocketsphinx. The grammar is compiled from the
templates' structure (alternatives, optional words, lists) into one JSGF grammar, never from the
expanded sentence list: a flat rule of thousands of sentences decodes far too slowly. Words the
dictionary lacks get their pronunciation from a data file beside the grammar; a grammar word with
no pronunciation at all is an error, never a silently dropped phrase.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from hassil import (
    Alternative,
    Expression,
    ListReference,
    Permutation,
    RuleReference,
    Sequence,
    TextChunk,
    TextSlotList,
)

from voicecoach.asr.base import FEED_SAMPLES, as_bytes
from voicecoach.asr.baselines import keyword_search, keyword_table
from voicecoach.errors import VoicecoachError
from voicecoach.grammar import Grammar, normalize_utterance
from voicecoach.messages import Intent, Utterance, Word
from voicecoach.paths import PRONUNCIATIONS_FILE
from voicecoach.wavio import TARGET_RATE

if TYPE_CHECKING:
    import pocketsphinx

_LOGGER = logging.getLogger(__name__)

ENGINE = "pocketsphinx"
FRAME_RATE = 100
"""PocketSphinx's feature frames per second (its -frate)."""
SEARCH = "commands"


@dataclass(frozen=True)
class PocketSphinxModel:
    """Where the acoustic model and dictionary are (by default, inside the pocketsphinx wheel)."""

    hmm: Path
    dictionary: Path

    @property
    def description(self) -> str:
        return f"CMU US English ({self.hmm})"


def bundled_model() -> PocketSphinxModel:
    """The US English model that ships inside the pocketsphinx wheel: no download, ever."""
    try:
        import pocketsphinx
    except ImportError as exc:  # the wheel is a hard dependency; say so plainly if it is gone
        raise VoicecoachError(
            "the pocketsphinx package is not installed (run scripts/setup)"
        ) from exc
    root = Path(pocketsphinx.get_model_path())
    model = PocketSphinxModel(root / "en-us" / "en-us", root / "en-us" / "cmudict-en-us.dict")
    for part in (model.hmm, model.dictionary):
        if not part.exists():
            raise VoicecoachError(f"the pocketsphinx wheel has no model at {part}: reinstall it")
    return model


# --- pronunciations ---------------------------------------------------------------------------


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


# --- grammar to JSGF --------------------------------------------------------------------------


def grammar_to_jsgf(grammar: Grammar) -> str:
    """One JSGF grammar whose sentences are exactly the grammar's (words normalized)."""
    compiler = _JsgfCompiler(grammar)
    alternatives = sorted(set(compiler.sentences()))
    rules = "".join(f"<{name}> = {body};\n" for name, body in sorted(compiler.rules.items()))
    public = " | ".join(f"({a})" for a in alternatives)
    return f"#JSGF V1.0;\ngrammar voicecoach;\n{rules}public <command> = {public};\n"


class _JsgfCompiler:
    def __init__(self, grammar: Grammar) -> None:
        self._intents = grammar.intents
        self.rules: dict[str, str] = {}

    def sentences(self) -> Iterator[str]:
        for intent in self._intents.intents.values():
            for data in intent.data:
                self._local_rules: Mapping[str, Any] = data.expansion_rules
                for sentence in data.sentences:
                    body = self._compile(sentence.expression)
                    if body:
                        yield body

    def _compile(self, expr: Expression) -> str | None:
        """JSGF for an expression; None for one that produces only the empty string."""
        if isinstance(expr, TextChunk):
            text = normalize_utterance(
                expr.original_text if expr.original_text is not None else expr.text
            )
            return text or None
        if isinstance(expr, Alternative):
            items = [self._compile(item) for item in expr.items]
            optional = expr.is_optional or any(item is None for item in items)
            kept = sorted({item for item in items if item})
            if not kept:
                return None
            body = " | ".join(kept)
            return f"[{body}]" if optional else f"({body})"
        if isinstance(expr, Sequence):
            parts = [p for p in (self._compile(item) for item in expr.items) if p]
            return " ".join(parts) if parts else None
        if isinstance(expr, Permutation):
            parts = [self._compile(item) for item in expr.items]
            orders = {
                " ".join(p for p in order if p) for order in itertools.permutations(parts)
            } - {""}
            return "(" + " | ".join(sorted(orders)) + ")" if orders else None
        if isinstance(expr, ListReference):
            return self._list_rule(expr.list_name)
        if isinstance(expr, RuleReference):
            return self._expansion_rule(expr.rule_name)
        raise VoicecoachError(f"grammar has an expression voicecoach cannot compile: {expr!r}")

    def _list_rule(self, list_name: str) -> str:
        name = "list_" + _rule_name(list_name)
        if name not in self.rules:
            slot_list = self._intents.slot_lists.get(list_name)
            if not isinstance(slot_list, TextSlotList):
                raise VoicecoachError(f"list {{{list_name}}} must be a list of values")
            self.rules[name] = "<VOID>"  # placeholder while compiling (no recursion in lists)
            values = sorted({v for v in (self._compile(x.text_in) for x in slot_list.values) if v})
            self.rules[name] = "(" + " | ".join(values) + ")"
        return f"<{name}>"

    def _expansion_rule(self, rule_name: str) -> str:
        # Intent-local rules shadow the file's, as in hassil; name them apart.
        local = rule_name in self._local_rules
        rule = (self._local_rules if local else self._intents.expansion_rules).get(rule_name)
        if rule is None:
            raise VoicecoachError(f"grammar uses the rule <{rule_name}> but defines none")
        name = (
            ("local_" if local else "rule_")
            + _rule_name(rule_name)
            + (f"_{id(rule):x}" if local else "")
        )
        if name not in self.rules:
            self.rules[name] = "<VOID>"
            self.rules[name] = self._compile(rule.expression) or "<NULL>"
        return f"<{name}>"


def _rule_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


# --- the engine -------------------------------------------------------------------------------


def make_decoder(model: PocketSphinxModel, **options: Any) -> pocketsphinx.Decoder:
    """A decoder on the model with no search active yet, its log kept quiet."""
    import pocketsphinx

    config = pocketsphinx.Config(
        hmm=str(model.hmm), dict=str(model.dictionary), lm=None, loglevel="FATAL", **options
    )
    try:
        return pocketsphinx.Decoder(config)
    except RuntimeError as exc:
        raise VoicecoachError(f"cannot load the PocketSphinx model in {model.hmm}: {exc}") from exc


class _PocketSphinxStream:
    """Shared plumbing: a decoder fed bytes, ended by the caller, results turned into
    Utterances. PocketSphinx never ends an utterance by itself here: the listener's endpoint
    detector does (`flush`)."""

    name = ENGINE

    def __init__(self, decoder: Any, model_description: str) -> None:
        self._decoder = decoder
        self.model_description = model_description
        self._in_utterance = False
        self._busy_s = 0.0

    def _intent(self, text: str) -> tuple[Intent | None, str]:
        """The command in a final hypothesis and, when there is none, why."""
        raise NotImplementedError

    def accept(self, chunk: bytes) -> Utterance | None:
        started = time.perf_counter()
        if not self._in_utterance:
            self._decoder.start_utt()
            self._in_utterance = True
        self._decoder.process_raw(chunk, False, False)
        self._busy_s += time.perf_counter() - started
        return None

    def partial(self) -> str:
        if not self._in_utterance:
            return ""
        hyp = self._decoder.hyp()
        return str(hyp.hypstr) if hyp is not None else ""

    def flush(self) -> Utterance | None:
        if not self._in_utterance:
            return None
        started = time.perf_counter()
        self._decoder.end_utt()
        self._in_utterance = False
        utterance = self._result()
        busy_ms = (self._busy_s + time.perf_counter() - started) * 1000.0
        self._busy_s = 0.0
        return dataclasses.replace(utterance, decode_ms=busy_ms) if utterance else None

    def reset(self) -> None:
        if self._in_utterance:
            self._decoder.end_utt()
            self._in_utterance = False
        self._busy_s = 0.0

    def decode(self, pcm: np.ndarray | bytes) -> Utterance:
        self.reset()
        data = as_bytes(pcm)
        step = FEED_SAMPLES * 2
        started = time.perf_counter()
        for start in range(0, len(data), step):
            self.accept(data[start : start + step])
        utterance = self.flush()
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        if utterance is None:
            return Utterance("", None, 0.0, elapsed_ms, engine=ENGINE)
        return dataclasses.replace(utterance, decode_ms=elapsed_ms)

    def _result(self) -> Utterance | None:
        hyp = self._decoder.hyp()
        text = " ".join(str(hyp.hypstr).split()) if hyp is not None else ""
        if not text:
            return None
        words = tuple(
            Word(
                str(seg.word).split("(")[0],
                float(seg.prob),
                seg.start_frame / FRAME_RATE,
                (seg.end_frame + 1) / FRAME_RATE,
            )
            for seg in self._decoder.seg()
            if not _is_filler(str(seg.word))
        )
        confidence = min((w.confidence for w in words), default=0.0)
        intent, why = self._intent(text)
        return Utterance(text, intent, confidence, words=words, engine=ENGINE, rejected=why)


def _is_filler(word: str) -> bool:
    return word.startswith("<") or word.startswith("[") or word.startswith("++")


class PocketSphinxEngine(_PocketSphinxStream):
    """Grammar search over the command grammar, with rejection: the PocketSphinx CommandEngine."""

    def __init__(
        self,
        grammar: Grammar,
        model: PocketSphinxModel | None = None,
        *,
        pronunciations: Mapping[str, str] | None = None,
        sample_rate: int = TARGET_RATE,
    ) -> None:
        started = time.perf_counter()
        model = model or bundled_model()
        self.grammar = grammar
        decoder = make_decoder(model, samprate=float(sample_rate))
        extra = read_pronunciations() if pronunciations is None else dict(pronunciations)
        self.added_words = add_missing_words(decoder, grammar.words(), extra)
        self.jsgf = grammar_to_jsgf(grammar)
        try:
            decoder.add_jsgf_string(SEARCH, self.jsgf)
        except (RuntimeError, ValueError) as exc:
            raise VoicecoachError(f"PocketSphinx cannot take the grammar: {exc}") from exc
        decoder.activate_search(SEARCH)
        super().__init__(decoder, model.description)
        self.load_s = time.perf_counter() - started
        _LOGGER.info(
            "pocketsphinx: grammar of %d words (%d added from %s) ready in %.2f s",
            len(grammar.words()),
            len(self.added_words),
            PRONUNCIATIONS_FILE.name,
            self.load_s,
        )

    def _intent(self, text: str) -> tuple[Intent | None, str]:
        intent = self.grammar.match(text)
        if intent is None:
            # The grammar search returns its best partial path when no path reached the end of
            # a sentence: the audio was not one of the commands.
            return None, "not a whole command"
        return intent, ""


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


class PocketSphinxKeywordBaseline(_PocketSphinxStream):
    """The naive peer for the benchmark: the wheel's general language model transcribes, and
    any grammar sentence found inside the transcript is taken as the command."""

    def __init__(self, grammar: Grammar, model: PocketSphinxModel | None = None) -> None:
        import pocketsphinx

        model = model or bundled_model()
        root = Path(pocketsphinx.get_model_path())
        decoder = make_decoder(model)
        decoder.add_lm_file("lm", str(root / "en-us" / "en-us.lm.bin"))
        decoder.activate_search("lm")
        self._keywords = keyword_table(grammar)
        super().__init__(decoder, model.description + " + general language model")

    def _intent(self, text: str) -> tuple[Intent | None, str]:
        intent = keyword_search(self._keywords, text)
        return intent, "" if intent else "no command words"


class PocketSphinxBestPathBaseline(PocketSphinxEngine):
    """The other naive peer: the same grammar search with its best path taken as is."""

    def _intent(self, text: str) -> tuple[Intent | None, str]:
        intent = self.grammar.match(text)
        return intent, "" if intent else "not a whole command"
