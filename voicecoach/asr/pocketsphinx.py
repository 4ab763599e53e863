"""The PocketSphinx engine: the CMU US English model shipped inside the pocketsphinx wheel,
decoding with a finite-state grammar search built from grammars/en.yaml, with rejection.

The only module (with bench/) that imports pocketsphinx. What listens:
- the grammar's sentences folded into a minimal word automaton (voicecoach.asr.automaton);
- beside it, paths that are not commands: the coach's own sentences (voicecoach.asr.distractors),
  so its voice lands there, not on a command; optionally (LOOP_PROB, off by default) a loop over
  their other words, which rejects more chatter and costs more commands;
- a whole-utterance check: a hypothesis that did not reach the end of a sentence is no command;
- no confidence of its own worth the name (see WHOLE_COMMAND_CONFIDENCE).
Words the dictionary lacks get their pronunciation from a data file beside the grammar; a
grammar word with no pronunciation at all is an error, never a silently dropped phrase.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voicecoach.asr.automaton import Automaton, minimal_automaton
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

DECODER_OPTIONS: dict[str, Any] = {"bestpath": False, "topn": 8}
"""Measured on espeak-ng commands (8 voice/rate/pitch variants): the second, lattice best-path
pass lost words the first pass had right (27 vs 19 of 96 wrong on a 16-word grammar), and scoring
8 Gaussians per frame instead of 4 gained a little more (16 of 96)."""
CMN_WARMUP_S = 5.0
"""How much audio a fresh decoder decodes again (CMN_PASSES more times, each after its cepstral
mean was updated from that audio). PocketSphinx starts from a generic mean (cmninit 40,3,-1) and
moves it only after each utterance, so a session's first command, the one that starts a routine,
was decoded with a mean far from this microphone's: 2 of 34 espeak-ng commands right on a fresh
decoder, against 103 of 136 on one that had heard others. The demo's "start the hip routine" was
heard as "full body routine". Measured on fresh decoders (34 commands, two voices): 64.7% right
with one more pass, 79.4% with two, 91.2% with three, 85.3% with five or eight; on a decoder that
has heard others, decoding every utterance again gained nothing (75.7% once, 75.0% with three
more passes) and tripled the decode time, so only the first seconds are decoded again."""
CMN_PASSES = 3
NOISE_FLOOR_RMS = 30.0
"""A microphone's own noise (about 40 dB under a voice), added to what the decoder hears: its
acoustic model was trained on recordings that have one, and digital silence (a synthesized file,
stop closures in espeak-ng's speech) puts the features far outside that range. Measured on a
16-word grammar: 59 of 96 espeak-ng commands wrong at a floor of 3, 27 at 30, 18 at 100; a real
microphone's floor is at or above 30, where this adds at most 3 dB."""
LOOP_PROB: float | None = None
"""Per-word probability of a loop over the coach's non-grammar words competing with the commands
(None: no loop). Off: at 1e-8 it cut false accepts on chatter but lost commands the engine
had right, the demo's "start the full routine" among them (figures: bench/recognition.py,
approach ps-loop)."""


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


# --- the search -------------------------------------------------------------------------------


def command_sentences(grammar: Grammar) -> set[tuple[str, ...]]:
    """Every grammar sentence as a tuple of normalized words."""
    return {tuple(normalize_utterance(text).split()) for text, _ in grammar.sample_sentences()}


@dataclass(frozen=True)
class SearchGraph:
    """What the grammar search may hear: commands, and the paths that compete with them."""

    automaton: Automaton
    """Commands and the known non-commands (the coach's sentences) as one minimal automaton."""
    loop_words: tuple[str, ...] = ()
    """Words of a free loop from start to end (any sequence of them), at `loop_prob` each."""
    loop_prob: float = LOOP_PROB

    def transitions(self) -> list[tuple[int, int, float, str]]:
        """(from, to, probability, word) for PocketSphinx's create_fsg."""
        out = [(a.src, a.dst, 1.0, a.word) for a in self.automaton.arcs]
        loop = self.automaton.n_states
        start, final, p = self.automaton.start, self.automaton.final, self.loop_prob
        for word in self.loop_words:
            out += [(start, loop, p, word), (loop, loop, p, word), (loop, final, p, word)]
            out.append((start, final, p, word))
        return out


def search_graph(
    grammar: Grammar,
    distractors: Iterable[str],
    known: Any,
    *,
    loop_prob: float | None = LOOP_PROB,
) -> SearchGraph:
    """The commands plus each distractor sentence whose words `known(word)` has a pronunciation
    for, and (unless `loop_prob` is None) a loop over the distractors' non-grammar words."""
    commands = command_sentences(grammar)
    extra = {tuple(s.split()) for s in distractors}
    usable = {s for s in extra if s and s not in commands and all(known(w) for w in s)}
    if len(usable) < len(extra):
        _LOGGER.info(
            "pocketsphinx: %d distractor sentences without a pronunciation left out",
            len(extra) - len(usable),
        )
    automaton = minimal_automaton(commands | usable)
    loop: tuple[str, ...] = ()
    if loop_prob is not None:
        loop = tuple(sorted({w for s in usable for w in s} - grammar.words()))
    return SearchGraph(automaton, loop, loop_prob if loop_prob is not None else 0.0)


# --- confidence -------------------------------------------------------------------------------

WHOLE_COMMAND_CONFIDENCE = 1.0
"""PocketSphinx's confidence for a hypothesis that is a whole command. Measured on the bench's
set, none of its own scores tells a right command from a wrong one or from chatter: lattice
posteriors (with the slower best-path pass) rejected right commands sooner than wrong ones, and
the first pass's per-frame word scores are relative to the best path, so both rank alike. Its
rejection is structural (the competing paths and the whole-utterance check), so it reports 1
for a whole command and 0 otherwise, and the listener's confidence bars do not filter it."""


@dataclass(frozen=True)
class _Seg:
    word: str
    start: int
    end: int


def _segments(decoder: Any) -> list[_Seg]:
    return [_Seg(str(s.word), s.start_frame, s.end_frame) for s in decoder.seg() or []]


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


def _is_filler(word: str) -> bool:
    return word.startswith("<") or word.startswith("[") or word.startswith("++") or word == "SIL"


def _word(word: str) -> str:
    return word.split("(")[0]


class _PocketSphinxStream:
    """Shared plumbing: decoders fed bytes, ended by the caller, results turned into
    Utterances. PocketSphinx never ends an utterance by itself here: the listener's endpoint
    detector does (`flush`)."""

    name = ENGINE

    def __init__(self, decoder: Any, model_description: str) -> None:
        self._decoder = decoder
        self._floor = np.random.default_rng(0)
        self.model_description = model_description
        self._in_utterance = False
        self._pending = bytearray()
        self._utterance_audio = bytearray()
        self._heard_s = 0.0
        self._busy_s = 0.0

    def _intent(self, text: str) -> tuple[Intent | None, str]:
        """The command in a final hypothesis and, when there is none, why."""
        raise NotImplementedError

    def accept(self, chunk: bytes) -> Utterance | None:
        if not self._in_utterance:
            self._decoder.start_utt()
            self._in_utterance = True
        # The decoder gets blocks of at least FEED_SAMPLES whatever size the caller feeds: its
        # live CMN takes its first estimate from the first block, and from a 20 ms frame (what
        # the listener feeds) that estimate is poor. The demo's first line, "start the hip
        # routine", was heard as "full body routine" that way, though the same audio in larger
        # blocks was heard right: the first command of a session must not depend on chunking.
        self._pending += chunk
        if len(self._pending) >= FEED_SAMPLES * 2:
            self._process_pending()
        return None

    def _process_pending(self) -> None:
        if not self._pending:
            return
        started = time.perf_counter()
        samples = np.frombuffer(bytes(self._pending), dtype="<i2").astype(np.float64)
        self._pending.clear()
        samples += self._floor.normal(0.0, NOISE_FLOOR_RMS, samples.size)
        floored = np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()
        self._decoder.process_raw(floored, False, False)
        if self._heard_s < CMN_WARMUP_S:
            self._utterance_audio += floored
        self._busy_s += time.perf_counter() - started

    def partial(self) -> str:
        if not self._in_utterance:
            return ""
        self._process_pending()
        hyp = self._decoder.hyp()
        return str(hyp.hypstr) if hyp is not None else ""

    def flush(self) -> Utterance | None:
        if not self._in_utterance:
            return None
        self._process_pending()
        started = time.perf_counter()
        self._decoder.end_utt()
        self._in_utterance = False
        if self._utterance_audio:
            # The decoder's cepstral mean was still its generic start value while this audio was
            # decoded (no earlier speech to learn it from), and end_utt has just updated it from
            # this very audio: decode it once more with that mean. Only until CMN_WARMUP_S of
            # audio has been heard; after that each utterance is decoded once.
            self._heard_s += len(self._utterance_audio) / 2 / TARGET_RATE
            for _ in range(CMN_PASSES):
                self._decoder.start_utt()
                self._decoder.process_raw(bytes(self._utterance_audio), False, False)
                self._decoder.end_utt()
            self._utterance_audio.clear()
        utterance = self._result()
        busy_ms = (self._busy_s + time.perf_counter() - started) * 1000.0
        self._busy_s = 0.0
        return dataclasses.replace(utterance, decode_ms=busy_ms) if utterance else None

    def reset(self) -> None:
        self._pending.clear()
        self._utterance_audio.clear()
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
        intent, why = self._intent(text)
        confidence = WHOLE_COMMAND_CONFIDENCE if intent is not None else 0.0
        words = tuple(
            Word(_word(s.word), confidence, s.start / FRAME_RATE, (s.end + 1) / FRAME_RATE)
            for s in _segments(self._decoder)
            if not _is_filler(s.word)
        )
        return Utterance(text, intent, confidence, words=words, engine=ENGINE, rejected=why)


class PocketSphinxEngine(_PocketSphinxStream):
    """Grammar search over the command grammar, with rejection: the PocketSphinx CommandEngine.

    `distractors`: sentences that are not commands and compete with them (default: the coach's
    own, voicecoach.asr.distractors); `loop_prob`: the competing word loop's per-word probability
    (None: no loop).
    """

    def __init__(
        self,
        grammar: Grammar,
        model: PocketSphinxModel | None = None,
        *,
        pronunciations: Mapping[str, str] | None = None,
        sample_rate: int = TARGET_RATE,
        distractors: Iterable[str] | None = None,
        loop_prob: float | None = LOOP_PROB,
    ) -> None:
        started = time.perf_counter()
        model = model or bundled_model()
        self.grammar = grammar
        decoder = make_decoder(model, samprate=float(sample_rate), **DECODER_OPTIONS)
        extra = read_pronunciations() if pronunciations is None else dict(pronunciations)
        self.added_words = add_missing_words(decoder, grammar.words(), extra)
        if distractors is None:
            from voicecoach.asr.distractors import coach_sentences

            distractors = coach_sentences(grammar)
        self.graph = search_graph(
            grammar,
            distractors,
            lambda w: decoder.lookup_word(w) is not None,
            loop_prob=loop_prob,
        )
        automaton = self.graph.automaton
        try:
            fsg = decoder.create_fsg(
                SEARCH, automaton.start, automaton.final, self.graph.transitions()
            )
            decoder.add_fsg(SEARCH, fsg)
        except (RuntimeError, ValueError) as exc:
            raise VoicecoachError(f"PocketSphinx cannot take the grammar: {exc}") from exc
        decoder.activate_search(SEARCH)
        super().__init__(decoder, model.description)
        self.load_s = time.perf_counter() - started
        _LOGGER.info(
            "pocketsphinx: grammar of %d words (%d added from %s), %d states, %d arcs, "
            "%d loop words; ready in %.2f s",
            len(grammar.words()),
            len(self.added_words),
            PRONUNCIATIONS_FILE.name,
            automaton.n_states,
            len(automaton.arcs),
            len(self.graph.loop_words),
            self.load_s,
        )

    def _intent(self, text: str) -> tuple[Intent | None, str]:
        intent = self.grammar.match(text)
        if intent is None:
            # Either a path through the coach's sentences or the word loop, or the best partial
            # path when none reached the end of a sentence: not one of the commands.
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
    """The other naive peer: the command grammar alone, its best path taken as is (no
    competing paths, no confidence)."""

    def __init__(self, grammar: Grammar, model: PocketSphinxModel | None = None) -> None:
        super().__init__(grammar, model, distractors=(), loop_prob=None)
