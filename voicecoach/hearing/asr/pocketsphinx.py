"""The PocketSphinx engine: the CMU US English model shipped inside the pocketsphinx wheel,
decoding with a finite-state grammar search built from grammars/en.yaml, with rejection.

The only module (with bench/) that imports pocketsphinx. What listens:
- the grammar's sentences folded into a minimal word automaton (voicecoach.hearing.asr.automaton);
- beside it, paths that are not commands: the coach's own sentences
  (voicecoach.hearing.asr.distractors), so its voice lands there, not on a command; optionally
  (LOOP_PROB, off by default) a loop over their other words, which rejects more chatter and
  costs more commands;
- a whole-utterance check: a hypothesis that did not reach the end of a sentence is no command;
- a voicing check (voicecoach.hearing.voicing): sound with no voiced frames (noise, a rustle) is no
  command, though the search maps it onto "ow";
- a likelihood-ratio check: the same audio decoded again as free phones (the wheel's phone
  language model), and a command whose score falls too far below that free decode's is rejected
  (see PHONE_LOOP_MIN_LOG_RATIO).
Words the dictionary lacks get their pronunciation from a data file beside the grammar, and
every word its British variants (voicecoach.hearing.asr.pronunciations).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.asr.automaton import Automaton, minimal_automaton
from voicecoach.hearing.asr.base import decode_whole
from voicecoach.hearing.asr.baselines import keyword_search, keyword_table
from voicecoach.hearing.asr.pronunciations import (
    add_british_variants,
    add_missing_words,
    read_pronunciations,
)
from voicecoach.hearing.grammar import Grammar, normalize_utterance
from voicecoach.hearing.voicing import has_voiced_speech
from voicecoach.hearing.wavio import TARGET_RATE
from voicecoach.messages import Intent, Utterance, Word
from voicecoach.paths import PRONUNCIATIONS_FILE

if TYPE_CHECKING:
    import pocketsphinx

_LOGGER = logging.getLogger(__name__)

ENGINE = "pocketsphinx"
FRAME_RATE = 100
"""PocketSphinx's feature frames per second (its -frate)."""
SEARCH = "commands"
PHONE_SEARCH = "phones"

DECODER_OPTIONS: dict[str, Any] = {
    "bestpath": False,
    "topn": 8,
    "cmn": "batch",
    "beam": 1e-80,
    "wbeam": 1e-60,
    "pbeam": 1e-80,
}
"""Measured on espeak-ng commands (8 voice/rate/pitch variants): the second, lattice best-path
pass lost words the first pass had right (27 vs 19 of 96 wrong on a 16-word grammar), and scoring
8 Gaussians per frame instead of 4 gained a little more (16 of 96). Cepstral mean normalization
over the whole utterance ("batch", the utterance decoded at once, see _PocketSphinxStream) instead
of the live estimate that starts from the model's cmninit and lags the room: on the bench's white
noise at 10 dB, 67% of commands right instead of 14% (bench/recognition.py). Beams wider than
the defaults (1e-48, 7e-29, 1e-48): babble at 10 dB, 26% right instead of 10% and 48% false
accepts instead of 70%, for about a third more decode time (bench, clean/10 dB subset)."""
PHONE_DECODER_OPTIONS: dict[str, Any] = {"bestpath": False, "topn": 8, "cmn": "batch"}
"""The free phone decode's: PocketSphinx's default beams (the grammar search's wide ones made
it cost more than the grammar search itself)."""
NOISE_FLOOR_RMS = 100.0
"""A microphone's own noise (about 40 dB under a voice), added to what the decoder hears: its
acoustic model was trained on recordings that have one, and digital silence (a synthesized file,
stop closures in espeak-ng's speech) puts the features far outside that range. Measured on a
16-word grammar: 59 of 96 espeak-ng commands wrong at a floor of 3, 27 at 30, 18 at 100; on the
bench with batch CMN, 100 against 30: clean commands 84.5% right instead of 79.3%, false accepts
35% instead of 50%. A real microphone's floor is at or above 30; 100 is still about 30 dB under
a voice at a normal level."""
PHONE_LOOP_MIN_LOG_RATIO: float | None = -0.28
"""A command is kept only if ln(its grammar-search score) - ln(the free phone decode's score) is
at least this (None: no check). The free decode (allphone search, the phone bigram model inside
the wheel) fits any speech about as well as the audio allows, so a command that is really there
scores close to it, and a command forced onto chatter falls well below. Chosen on the bench's
seed-1 set, checked on seed 2 (bench/recognition.py --approaches pocketsphinx,ps-no-ratio
[--seed 2]): false accepts clean 35.0% -> 12.5% (seed 2: 30.0% -> 7.5%), noisy mean 50.0% ->
14.2% (44.6% -> 10.0%); clean commands 89.7% -> 87.9% (89.7% -> 89.7%); but babble at 10 dB
loses most of its commands (27.6% -> 8.6%), since the babble's words fit free phones better
than the command fits its path."""
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
"""The confidence of a whole command when there is no likelihood-ratio check (with one, see
ratio_confidence). Of the decoder's own scores alone, none tells a right command from chatter:
lattice posteriors (with the slower best-path pass) rejected right commands sooner than wrong
ones, and the grammar search's path score (relative to each frame's best senone) overlapped
almost entirely between right commands and false accepts; set against the free phone decode,
the same score does."""


def ratio_confidence(log_ratio: float) -> float:
    """A kept command's confidence from its log ratio against the free phone decode: exp of it,
    at most 1. At the bar (PHONE_LOOP_MIN_LOG_RATIO) that is 0.76, so the listener's 0.5 for a
    command while the coach is quiet passes every kept one, and its 0.8 for a barge-in over the
    coach's voice asks for a ratio of -0.22 or better. In the room (bench/live.py, 2026-12-02),
    with confidence 1 for every kept command instead, prose over the coach's cues fired 8
    commands in 1.4 min, pain, stop and pause among them; with this, 5 in 30 min, none of them a
    barge-in. (Neither version cut the coach on a "stop" said over it: 0 of 10 both times.)"""
    return min(1.0, math.exp(log_ratio))


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


def phone_decoder(model: PocketSphinxModel, sample_rate: float) -> Any:
    """A second decoder on the same acoustic model, searching free phones (allphone search with
    the wheel's phone bigram model), for the likelihood ratio."""
    import pocketsphinx

    decoder = make_decoder(model, samprate=sample_rate, **PHONE_DECODER_OPTIONS)
    phone_lm = Path(pocketsphinx.get_model_path()) / "en-us" / "en-us-phone.lm.bin"
    try:
        decoder.add_allphone_file(PHONE_SEARCH, str(phone_lm))
    except RuntimeError as exc:
        raise VoicecoachError(f"cannot load the phone model {phone_lm}: {exc}") from exc
    decoder.activate_search(PHONE_SEARCH)
    return decoder


def _ln(score: float) -> float:
    """Natural log of a hypothesis score as the binding reports it (a probability-like value in
    (0, 1]); a score that underflowed to 0 counts as very unlikely."""
    return math.log(score) if score > 0.0 else -100.0


def _is_filler(word: str) -> bool:
    return word.startswith("<") or word.startswith("[") or word.startswith("++") or word == "SIL"


def _word(word: str) -> str:
    return word.split("(")[0]


class _PocketSphinxStream:
    """Shared plumbing: decoders fed bytes, ended by the caller, results turned into
    Utterances. PocketSphinx never ends an utterance by itself here: the listener's endpoint
    detector does (`flush`)."""

    name = ENGINE

    def __init__(
        self, decoder: Any, model_description: str, sample_rate: int = TARGET_RATE
    ) -> None:
        self._decoder = decoder
        self.sample_rate = sample_rate
        self._floor = np.random.default_rng(0)
        self.model_description = model_description
        self._pending: list[bytes] = []
        """The utterance's audio so far, its noise floor added, not yet decoded."""
        self._decoded = False
        """Whether the decoder's last utterance holds all of `_pending`."""
        self._audio = b""
        """What the decoder's last utterance was fed."""
        self._tail = b""
        """Quiet (the noise floor alone) decoded after `_pending`, standing in for the quiet
        the listener holds back once it has asked to `prepare`."""
        self._prepared: tuple[Utterance | None] | None = None
        """The result `prepare` worked out for all of `_pending` (in a 1-tuple: None is a
        result), until more audio comes."""
        self._busy_s = 0.0

    def _intent(self, text: str) -> tuple[Intent | None, str]:
        """The command in a final hypothesis and, when there is none, why."""
        raise NotImplementedError

    def _verify(self, score: float) -> tuple[str, float]:
        """Why a command the search found (its hypothesis score `score`) is not to be trusted
        ("" to keep it), and its confidence."""
        return "", WHOLE_COMMAND_CONFIDENCE

    def accept(self, chunk: bytes) -> Utterance | None:
        started = time.perf_counter()
        self._pending.append(self._with_floor(np.frombuffer(chunk, dtype="<i2")))
        self._decoded = False
        self._prepared = None
        self._tail = b""
        self._busy_s += time.perf_counter() - started
        return None

    def _with_floor(self, samples: np.ndarray) -> bytes:
        """`samples` with the microphone's noise floor added, as the decoder's int16 bytes."""
        x = samples.astype(np.float64) + self._floor.normal(0.0, NOISE_FLOOR_RMS, samples.size)
        return np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()

    def _decode_pending(self) -> None:
        """Decode everything heard so far as one utterance: its cepstral mean is the whole
        utterance's (batch CMN), not a running estimate from the previous ones, and the size
        of the chunks the caller fed cannot change what is heard (fed 20 ms frames, the live
        estimate once heard the demo's "start the hip routine" as "full body routine")."""
        if self._decoded:
            return
        started = time.perf_counter()
        self._audio = b"".join(self._pending) + self._tail
        self._decoder.start_utt()
        self._decoder.process_raw(self._audio, False, True)
        self._decoder.end_utt()
        self._decoded = True
        self._busy_s += time.perf_counter() - started

    def partial(self) -> str:
        if not self._pending:
            return ""
        self._decode_pending()
        hyp = self._decoder.hyp()
        return str(hyp.hypstr) if hyp is not None else ""

    def prepare(self, quiet_s: float = 0.0) -> None:
        """Work out the result for the audio so far followed by `quiet_s` of quiet, so that a
        `flush` with nothing fed in between costs nothing. The listener calls it when the
        person pauses: the decode then overlaps the wait for the end of speech instead of
        following it. The quiet stands in for the rest of the hangover, which the search
        needs: decoded with 60 ms of trailing quiet instead of 200, "ouch" and "pause" came out
        as "now the" and "hold for"."""
        if not self._pending or self._prepared is not None:
            return
        n = round(quiet_s * self.sample_rate)
        if n > 0:
            self._tail = self._with_floor(np.zeros(n))
            self._decoded = False
        self._decode_pending()
        started = time.perf_counter()
        self._prepared = (self._result(),)
        self._busy_s += time.perf_counter() - started

    def flush(self) -> Utterance | None:
        if not self._pending:
            return None
        self.prepare()
        assert self._prepared is not None
        utterance = self._prepared[0]
        self._pending = []
        self._prepared = None
        busy_ms = self._busy_s * 1000.0
        self._busy_s = 0.0
        return dataclasses.replace(utterance, decode_ms=busy_ms) if utterance else None

    def reset(self) -> None:
        self._pending = []
        self._decoded = False
        self._prepared = None
        self._tail = b""
        self._busy_s = 0.0

    def decode(self, pcm: np.ndarray | bytes) -> Utterance:
        return decode_whole(self, pcm, ENGINE)

    def _result(self) -> Utterance | None:
        hyp = self._decoder.hyp()
        text = " ".join(str(hyp.hypstr).split()) if hyp is not None else ""
        if not text:
            return None
        intent, why = self._intent(text)
        segments = [s for s in _segments(self._decoder) if not _is_filler(s.word)]
        confidence = WHOLE_COMMAND_CONFIDENCE if intent is not None else 0.0
        if intent is not None and not has_voiced_speech(
            np.frombuffer(self._audio, dtype="<i2"), self.sample_rate
        ):
            intent, confidence, why = None, 0.0, "no voiced speech"
        if intent is not None:
            why, confidence = self._verify(float(hyp.score))
            if why:
                intent, confidence = None, 0.0
        words = tuple(
            Word(_word(s.word), confidence, s.start / FRAME_RATE, (s.end + 1) / FRAME_RATE)
            for s in segments
        )
        return Utterance(text, intent, confidence, words=words, engine=ENGINE, rejected=why)


class PocketSphinxEngine(_PocketSphinxStream):
    """Grammar search over the command grammar, with rejection: the PocketSphinx CommandEngine.

    `distractors`: sentences that are not commands and compete with them (default: the coach's
    own, voicecoach.hearing.asr.distractors); `loop_prob`: the competing word loop's per-word
    probability (None: no loop); `british`: add British variants of every word; `min_log_ratio`: the
    likelihood-ratio bar against a free phone decode (None: no such check).
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
        british: bool = True,
        min_log_ratio: float | None = PHONE_LOOP_MIN_LOG_RATIO,
    ) -> None:
        started = time.perf_counter()
        model = model or bundled_model()
        self.grammar = grammar
        decoder = make_decoder(model, samprate=float(sample_rate), **DECODER_OPTIONS)
        extra = read_pronunciations() if pronunciations is None else dict(pronunciations)
        self.added_words = add_missing_words(decoder, grammar.words(), extra)
        if distractors is None:
            from voicecoach.hearing.asr.distractors import coach_sentences

            distractors = coach_sentences(grammar)
        self.graph = search_graph(
            grammar,
            distractors,
            lambda w: decoder.lookup_word(w) is not None,
            loop_prob=loop_prob,
        )
        automaton = self.graph.automaton
        self.variants_added = 0
        if british:
            self.variants_added = add_british_variants(decoder, {a.word for a in automaton.arcs})
        self.min_log_ratio = min_log_ratio
        self._phones: Any = None
        if min_log_ratio is not None:
            self._phones = phone_decoder(model, float(sample_rate))
        try:
            fsg = decoder.create_fsg(
                SEARCH, automaton.start, automaton.final, self.graph.transitions()
            )
            decoder.add_fsg(SEARCH, fsg)
        except (RuntimeError, ValueError) as exc:
            raise VoicecoachError(f"PocketSphinx cannot take the grammar: {exc}") from exc
        decoder.activate_search(SEARCH)
        super().__init__(decoder, model.description, sample_rate)
        self.load_s = time.perf_counter() - started
        _LOGGER.info(
            "pocketsphinx: grammar of %d words (%d added from %s), %d states, %d arcs, "
            "%d loop words, %d British variants; ready in %.2f s",
            len(grammar.words()),
            len(self.added_words),
            PRONUNCIATIONS_FILE.name,
            automaton.n_states,
            len(automaton.arcs),
            len(self.graph.loop_words),
            self.variants_added,
            self.load_s,
        )

    def _intent(self, text: str) -> tuple[Intent | None, str]:
        intent = self.grammar.match(text)
        if intent is None:
            # Either a path through the coach's sentences or the word loop, or the best partial
            # path when none reached the end of a sentence: not one of the commands.
            return None, "not a whole command"
        return intent, ""

    def _verify(self, score: float) -> tuple[str, float]:
        if self.min_log_ratio is None:
            return "", WHOLE_COMMAND_CONFIDENCE
        ratio = _ln(score) - _ln(self._free_phone_score())
        if ratio < self.min_log_ratio:
            return f"fits the sound worse than free phones (log ratio {ratio:.2f})", 0.0
        return "", ratio_confidence(ratio)

    def _free_phone_score(self) -> float:
        """The free phone decode's score for the audio the grammar search just heard."""
        started = time.perf_counter()
        self._phones.start_utt()
        self._phones.process_raw(self._audio, False, True)
        self._phones.end_utt()
        hyp = self._phones.hyp()
        self._busy_s += time.perf_counter() - started
        return float(hyp.score) if hyp is not None else 0.0


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
        super().__init__(
            grammar, model, distractors=(), loop_prob=None, british=False, min_log_ratio=None
        )
