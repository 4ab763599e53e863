"""The Vosk engine: finds and loads a Vosk model, and turns 16 kHz speech into grammar intents.

The only module (with bench/) that imports vosk. Decoding is restricted to the grammar's phrases
plus "[unk]", and every result is re-checked: a word below the confidence threshold, any "[unk]",
or text that is not a whole grammar sentence gives `intent=None`. Vosk's own endpoint rules live
in the model directory, so a tuned copy of the model's conf is made here too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.asr.base import FEED_SAMPLES, as_bytes
from voicecoach.hearing.asr.baselines import keyword_search, keyword_table
from voicecoach.hearing.grammar import UNK, Grammar
from voicecoach.hearing.model_fetch import UNAVAILABLE_FILE
from voicecoach.hearing.model_manifest import Manifest, missing_model_parts, read_manifest
from voicecoach.hearing.wavio import TARGET_RATE
from voicecoach.messages import Intent, Utterance, Word

if TYPE_CHECKING:
    import vosk

_LOGGER = logging.getLogger(__name__)

ENGINE = "vosk"
MODEL_ENV = "VOICECOACH_MODEL"


def resolve_model_dir(
    cli_value: str | Path | None = None,
    manifest: Manifest | None = None,
    config_value: str | Path | None = None,
) -> Path:
    """The model directory: --model, else $VOICECOACH_MODEL, else config.toml's `model`, else
    the model fetched into models/ (Maven's, or the archive's).

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
    installed = manifest.installed_model_dir()  # Maven's, or the archive's from --vosk
    if installed is not None:
        return installed
    model_dir = manifest.model_dir
    how = (
        f"run scripts/fetch-model --vosk, or set {MODEL_ENV}=/path/to/a/vosk/model "
        "(or pass --model)"
    )
    unavailable = manifest.models_dir / UNAVAILABLE_FILE
    if unavailable.is_file():
        return _raise(
            f"no Vosk model in {model_dir}: the registry did not have "
            f"{manifest.coordinates} (see {unavailable}); {how}"
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
        with _kaldi_log_kept_quiet():
            model = vosk.Model(str(model_dir))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise VoicecoachError(f"cannot load the Vosk model in {model_dir}: {exc}") from exc
    _LOGGER.info("loaded model %s in %.2f s", model_dir, time.perf_counter() - started)
    return model


@contextlib.contextmanager
def _kaldi_log_kept_quiet() -> Iterator[None]:
    """Kaldi writes its ERROR lines straight to file descriptor 2, whatever SetLogLevel says (a
    junk model printed dozens before our one-line error). Catch them while the model loads and
    pass them on only to the log (-v shows them)."""
    if _LOGGER.isEnabledFor(logging.INFO):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines():
                _LOGGER.debug("kaldi: %s", line)


def model_knows(model: Any, word: str) -> bool:
    """True if the word is in the model's vocabulary (Vosk drops unknown grammar words)."""
    return bool(model.vosk_model_find_word(word) != -1)


class _VoskStream:
    """Shared plumbing: a KaldiRecognizer fed bytes, results turned into Utterances."""

    name = ENGINE

    def __init__(self, recognizer: Any, model_description: str = "") -> None:
        self._rec = recognizer
        self.model_description = model_description
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
        return Utterance(
            text,
            self._intent(text, words),
            confidence,
            words=tuple(
                Word(
                    str(w.get("word", "")),
                    float(w.get("conf", 0.0)),
                    float(w.get("start", 0.0)),
                    float(w.get("end", 0.0)),
                )
                for w in words
            ),
            engine=ENGINE,
        )

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
            utterance = dataclasses.replace(utterance, decode_ms=self._busy_s * 1000.0)
        self._busy_s = 0.0
        return utterance

    def decode(self, pcm: np.ndarray | bytes) -> Utterance:
        """Decode one whole utterance (e.g. a file): every segment Vosk finds, joined."""
        self.reset()
        data = as_bytes(pcm)
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
            return Utterance("", None, 0.0, elapsed_ms, engine=ENGINE)
        return dataclasses.replace(utterance, decode_ms=elapsed_ms)


def _collect(result: dict[str, Any], texts: list[str], words: list[dict[str, Any]]) -> None:
    text = str(result.get("text", "")).strip()
    if text:
        texts.append(text)
        words.extend(result.get("result", []))


class VoskEngine(_VoskStream):
    """Grammar-restricted recognition with rejection: the Vosk CommandEngine."""

    def __init__(
        self,
        model: Any,
        grammar: Grammar,
        *,
        min_word_confidence: float | None = None,
        sample_rate: int = TARGET_RATE,
        model_description: str = "",
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
            # phrases out entirely (tests/hearing/test_grammar.py fails on them when a model is
            # present).
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
        super().__init__(recognizer, model_description)
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


class VoskKeywordBaseline(_VoskStream):
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


# --- Vosk's own endpoint rules (a tuned copy of the model's conf) -------------------------------

ENDPOINT_RULES = {
    # rule2: after speech that reached a final state of the grammar (a whole command) - the rule
    # that ends short commands. Stock 0.5 s.
    "rule2": 0.25,
    # rule3: after speech at a less certain point. Stock 1.0 s.
    "rule3": 0.5,
    # rule4: after any speech. Stock 2.0 s.
    "rule4": 1.0,
    # rule1 (silence only, no speech) is left alone: it only resets on long silences.
}


def tune_endpoint_conf(text: str, rules: dict[str, float] | None = None) -> str:
    """conf/model.conf with shorter --endpoint.ruleN.min-trailing-silence values."""
    rules = ENDPOINT_RULES if rules is None else rules
    lines = text.splitlines()
    seen: set[str] = set()
    for i, line in enumerate(lines):
        m = re.match(r"--endpoint\.(rule\d)\.min-trailing-silence=", line.strip())
        if m and m.group(1) in rules:
            lines[i] = f"--endpoint.{m.group(1)}.min-trailing-silence={rules[m.group(1)]:g}"
            seen.add(m.group(1))
    for rule, value in rules.items():
        if rule not in seen:
            lines.append(f"--endpoint.{rule}.min-trailing-silence={value:g}")
    return "\n".join(lines) + "\n"


def tuned_model_dir(model_dir: Path, cache_dir: Path) -> Path:
    """A copy of the model whose conf/model.conf has tuned endpoint rules; files are symlinked.

    vosk 0.3.45 has no endpointer setters, and Vosk reads the rules from the model directory.
    """
    conf = model_dir / "conf" / "model.conf"
    if not conf.is_file():
        return model_dir
    target = cache_dir / f"{model_dir.name}-endpoint"
    (target / "conf").mkdir(parents=True, exist_ok=True)
    for entry in model_dir.iterdir():
        link = target / entry.name
        if entry.name != "conf" and not link.exists():
            link.symlink_to(entry.resolve())
    for entry in (model_dir / "conf").iterdir():
        link = target / "conf" / entry.name
        if entry.name != "model.conf" and not link.exists():
            link.symlink_to(entry.resolve())
    (target / "conf" / "model.conf").write_text(tune_endpoint_conf(conf.read_text()))
    return target
