"""Whisper's scores for one utterance: the model on CTranslate2, the audio encoded once in a short
window, the free transcript, the grammar sentences near it, and each sentence's mean
log-probability per token by teacher forcing on the same encoder output.

The only module (with bench/) that imports ctranslate2 or tokenizers. WhisperScorer scores and
decides nothing: which candidate is a command is the engine's (whisper.py, its acceptance rules
beside their tuning). Nothing here reaches a network: the tokenizer is read from its file.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.asr.whisper_features import log_mel
from voicecoach.hearing.asr.whisper_model import WhisperModel
from voicecoach.hearing.asr.whisper_text import cut_repeated_text, cut_repeats
from voicecoach.hearing.wavio import TARGET_RATE
from voicecoach.messages import Intent

MIN_WINDOW_S = 2.0
WINDOW_STEP_S = 0.5
PAD_S = 0.5
"""The window is the audio plus at least PAD_S of silence, rounded up to WINDOW_STEP_S, at
least MIN_WINDOW_S: Whisper's cost grows with the window (30 s, its native one, costs ~900 ms an
utterance on one thread), and a few fixed sizes keep its behaviour predictable."""
ALIGN_BATCH = 2
"""Candidates scored per `align` call. One call for all 20 took 84 to 93 ms, 20 calls of one
78 ms, 10 calls of two 58 ms (tiny.en int8, one thread, a 2 s window)."""
MAX_TOKENS = 32
"""The free transcript's length bound: a command is a few words; Whisper looping on noise stops
here."""
N_NEAREST = 10
"""Grammar sentences nearest the transcript that are scored (besides exact and helper ones)."""

ALWAYS_SCORED = ("ouch", "ow", "that hurts", "it hurts", "that's sore", "stop")
"""Sentences scored for every utterance, wherever the transcript points (those the grammar has):
a short "ow" or "ouch" is often transcribed as a word nowhere near them ("Out", "Oh", "So"), and
a lost pain or stop costs far more than a few more rows scored. Biased that way on purpose."""
N_PAIN_NEAREST = 3
"""The pain sentences nearest the transcript, scored besides the N_NEAREST of all sentences."""

# --- Whisper's front end ----------------------------------------------------------------------


def window_seconds(audio_s: float) -> float:
    """The window an utterance of `audio_s` seconds is decoded in (see PAD_S)."""
    steps = math.ceil((audio_s + PAD_S) / WINDOW_STEP_S - 1e-9)
    return max(MIN_WINDOW_S, steps * WINDOW_STEP_S)


# --- text -------------------------------------------------------------------------------------


class TrigramIndex:
    """Grammar sentences found by the character trigrams they share with a query (cosine of
    trigram counts): "add 5 minutes" finds "add five minutes", "that's four" finds
    "that's a four". Cheap enough for every utterance (a few thousand sentences)."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self.sentences = list(sentences)
        # An inverted index (trigram -> the rows holding it, with their normalized counts):
        # a dense sentence x trigram matrix of the grammar's 7,000+ sentences took ~50 MB.
        postings: dict[str, list[tuple[int, float]]] = {}
        for row, sentence in enumerate(self.sentences):
            counts = Counter(_trigrams(sentence))
            norm = math.sqrt(sum(c * c for c in counts.values())) or 1.0
            for gram, count in counts.items():
                postings.setdefault(gram, []).append((row, count / norm))
        self._postings = {
            gram: (
                np.array([r for r, _ in rows], dtype=np.int32),
                np.array([w for _, w in rows], dtype=np.float32),
            )
            for gram, rows in postings.items()
        }

    def nearest(self, query: str, n: int = N_NEAREST) -> list[str]:
        """The `n` sentences nearest `query`, nearest first (none for an empty query)."""
        scores = np.zeros(len(self.sentences), dtype=np.float32)
        hit = False
        for gram, count in Counter(_trigrams(query)).items():
            if gram in self._postings:
                rows, weights = self._postings[gram]
                scores[rows] += count * weights
                hit = True
        if not hit:
            return []
        order = np.argsort(-scores, kind="stable")[:n]
        return [self.sentences[i] for i in order if scores[i] > 0]


def _trigrams(text: str) -> list[str]:
    padded = f"  {text} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


# --- the scorer -------------------------------------------------------------------------------


class WhisperScorer:
    """Whisper on CTranslate2 scoring grammar sentences against one utterance's audio: `encode`
    it once, `transcribe` it freely, pick the `candidates` near the transcript, and score rows of
    tokens (`mean_logprobs`) by teacher forcing on the same encoder output.

    `sentences`: the grammar's sentences (normalized) and their intents; `threads`:
    CTranslate2's intra-op threads; `n_nearest`: how many sentences nearest the transcript are
    candidates; `context`: text given to the free transcript as what was said before;
    `score_end`: score each sentence's end-of-text token too (WhisperEngine says more).
    """

    def __init__(
        self,
        model: WhisperModel,
        sentences: dict[str, Intent],
        *,
        threads: int = 1,
        n_nearest: int = N_NEAREST,
        context: str = "",
        score_end: bool = False,
        sample_rate: int = TARGET_RATE,
    ) -> None:
        import ctranslate2
        import tokenizers

        self.model = model
        self.sample_rate = sample_rate
        self.n_nearest = n_nearest
        self.score_end = score_end
        try:
            self._whisper = ctranslate2.models.Whisper(
                str(self.model.folder),
                device="cpu",
                compute_type="int8",
                intra_threads=threads,
                inter_threads=1,
            )
            self._tokenizer = tokenizers.Tokenizer.from_file(
                str(self.model.folder / "tokenizer.json")
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise VoicecoachError(
                f"cannot load the Whisper model in {self.model.folder}: {exc}"
            ) from exc
        self._n_mels = int(self._whisper.n_mels)
        self._eot = self._token("<|endoftext|>")
        self._prompt = [self._token("<|startoftranscript|>")]
        if self._whisper.is_multilingual:
            self._prompt += [self._token("<|en|>"), self._token("<|transcribe|>")]
        self._prompt.append(self._token("<|notimestamps|>"))
        self._free_prompt = list(self._prompt)
        if context:
            # As whisper.cpp's guided command mode: the commands as "previous text" make the
            # free transcript lean towards their words. Scoring keeps the bare prompt.
            self._free_prompt = [
                self._token("<|startofprev|>"),
                *self.encode_text(context),
                *self._prompt,
            ]
        self._sentences = sentences
        self._index = TrigramIndex(list(self._sentences))
        self._pain_index = TrigramIndex([t for t, i in self._sentences.items() if i.name == "pain"])

    def _token(self, text: str) -> int:
        token = self._tokenizer.token_to_id(text)
        if token is None:
            raise VoicecoachError(f"the Whisper tokenizer in {self.model.folder} has no {text}")
        return int(token)

    def encode(self, samples: np.ndarray) -> tuple[Any, int]:
        """Whisper's encoder output for `samples` in their window, and the window's frames."""
        import ctranslate2

        window = round(window_seconds(samples.size / self.sample_rate) * self.sample_rate)
        audio = np.zeros(window, dtype=np.float32)
        audio[: samples.size] = samples.astype(np.float32) / 32768.0
        features = log_mel(audio, self._n_mels)[np.newaxis]
        frames = features.shape[-1]
        encoded = self._whisper.encode(ctranslate2.StorageView.from_array(features), to_cpu=True)
        return encoded, frames

    def transcribe(self, encoded: Any) -> list[str]:
        """The free transcript, and with a context also the guided one. (Two calls:
        CTranslate2 batches only prompts of one length.)"""
        prompts = [self._prompt] + (
            [self._free_prompt] if self._free_prompt != self._prompt else []
        )
        texts = []
        for prompt in prompts:
            result = self._whisper.generate(
                encoded,
                [prompt],
                beam_size=1,
                max_length=MAX_TOKENS + len(prompt),
                suppress_blank=True,
            )[0]
            tokens = [t for t in result.sequences_ids[0] if t < self._eot]
            texts.append(cut_repeated_text(self._tokenizer.decode(cut_repeats(tokens)).strip()))
        return texts

    def free_tokens(self, transcript: str) -> list[int]:
        """The free transcript's row as scored: its tokens, a repeated phrase once (an empty one
        is end-of-text alone)."""
        return cut_repeats(self.encode_text(transcript)) or [self._eot]

    def encode_text(self, text: str) -> list[int]:
        """`text`'s tokens as Whisper writes it after the prompt (a space before it)."""
        return list(self._tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)

    def mean_logprobs(self, encoded: Any, frames: int, rows: list[list[int]]) -> list[float]:
        """Each row's mean log-probability per token given the audio (`encode`'s output) and
        the tokens before it: teacher forcing with CTranslate2's align, ALIGN_BATCH rows a call."""
        import ctranslate2

        if self.score_end:
            rows = [[*row, self._eot] if row[-1:] != [self._eot] else row for row in rows]
        pair = ctranslate2.StorageView.from_array(
            np.ascontiguousarray(np.repeat(np.asarray(encoded), ALIGN_BATCH, axis=0))
        )
        results = []
        for start in range(0, len(rows), ALIGN_BATCH):
            batch = rows[start : start + ALIGN_BATCH]
            features = pair
            if len(batch) < ALIGN_BATCH:
                features = ctranslate2.StorageView.from_array(
                    np.ascontiguousarray(np.repeat(np.asarray(encoded), len(batch), axis=0))
                )
            results += self._whisper.align(
                features, self._prompt, batch, [frames // 2 * 2] * len(batch)
            )
        return [
            float(np.mean(np.log(np.maximum(r.text_token_probs, 1e-12))))
            if r.text_token_probs
            else -math.inf
            for r in results
        ]

    def candidates(self, plain: str, guided: Sequence[str] = ()) -> list[str]:
        """The grammar sentences to score for the transcript `plain` (and the `guided` ones)."""
        found: list[str] = []
        if plain in self._sentences:
            found.append(plain)
        found += self._index.nearest(plain, self.n_nearest) if plain else []
        for text in guided:
            if text in self._sentences:
                found.append(text)
            found += self._index.nearest(text, 3) if text else []
        found += [sentence for sentence in ALWAYS_SCORED if sentence in self._sentences]
        # Pain, whatever else the transcript is near: "my back hurts" over the coach's voice
        # came out as "My Mac Third is not", nearer to no pain sentence than to others.
        found += self._pain_index.nearest(plain, N_PAIN_NEAREST) if plain else []
        return list(dict.fromkeys(found))
