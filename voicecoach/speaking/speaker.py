"""The coach's voice: a cue's words in, sentence by sentence; each is rendered (render),
played interruptibly (output) and kept as the echo reference (echo_reference) the listener uses
to avoid hearing the coach. SpeechStarted and SpeechFinished go to the session's event queue.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from voicecoach.clock import Clock
from voicecoach.messages import Cue, SessionInput, SpeechAdjust, SpeechFinished, SpeechStarted
from voicecoach.speaking.echo_reference import EchoReference
from voicecoach.speaking.output import AudioOutput
from voicecoach.speaking.render import RenderedSpeech, Renderer, VoiceSettings

_LOGGER = logging.getLogger(__name__)

MAX_FAILURES_IN_A_ROW = 3
"""Sentences that may fail to render or play in a row before the speaker stops trying."""
DUCK_GAIN = 0.25
"""The coach's voice while the person talks over it (-12 dB): people expect a speaker to yield
as soon as they speak, and a quieter coach leaves less echo in what the engine hears. It comes
back to full when what they said does not cut the coach short."""


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=\S)")


def split_sentences(text: str) -> list[str]:
    """Sentences to render and play one by one: the first sample never waits for the last."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part] or [text]


@dataclass
class _Part:
    """One sentence of a cue's words."""

    cue: Cue | None
    text: str
    first: bool
    last: bool


class Speaker:
    """Says cues one after another through an AudioOutput; posts SpeechStarted/SpeechFinished.

    Speaking is driven by calls, not by a thread of its own: `say` renders and starts at once when
    idle, and the output's completion starts the next queued sentence. A cue's words are rendered
    sentence by sentence, so a long instruction starts as fast as a short one; the cue gets one
    SpeechStarted (its first sample) and one SpeechFinished (its last, or where it was cut).
    When rendering or playback fails the sentence is shown with `show_text` instead and the
    session goes on: the Started and Finished events are still posted, so a session waiting for
    the cue to end is not stuck.
    """

    def __init__(
        self,
        renderer: Renderer | None,
        output: AudioOutput | None,
        post: Callable[[SessionInput], None],
        clock: Clock,
        *,
        settings: VoiceSettings | None = None,
        show_text: Callable[[str], None] = print,
        reference: EchoReference | None = None,
    ) -> None:
        self._renderer = renderer
        self._output = output
        self._post = post
        self._clock = clock
        self.settings = settings or VoiceSettings()
        self._show_text = show_text
        self.reference = reference or EchoReference()
        self._pending: collections.deque[_Part] = collections.deque()
        self._playing: _Part | None = None
        self._lock = threading.RLock()
        self._closed = False
        self.failures = 0
        self._failed_in_a_row = 0
        self.last_cue_latency_ms: float | None = None
        """From `say` to the first sample of the latest cue that was played."""
        self.ducked = False
        """Whether the coach's voice is lowered under the person's (`duck`)."""
        self.on_gain: Callable[[float, float], None] | None = None
        """Told (clock time, gain) when a change of gain reaches the output device."""

    @property
    def speaking(self) -> bool:
        with self._lock:
            return self._playing is not None or bool(self._pending)

    def adjust(self, adjust: SpeechAdjust) -> VoiceSettings:
        with self._lock:
            self.settings = self.settings.adjusted(adjust)
            _LOGGER.info("voice now rate=%d volume=%.2f", self.settings.rate, self.settings.volume)
            return self.settings

    def say(self, text: str, cue: Cue | None = None) -> None:
        parts = split_sentences(text)
        with self._lock:
            for i, part in enumerate(parts):
                self._pending.append(_Part(cue, part, i == 0, i == len(parts) - 1))
            if self._playing is None:
                self._next()

    def interrupt(self) -> bool:
        """Cut the current sentence short and drop the queued ones; True if something was cut.
        What the coach says next is at full volume again."""
        with self._lock:
            self._pending.clear()
            playing = self._playing is not None
        if playing and self._output is not None:
            self._output.cut()
        self.duck(False)
        return playing

    def duck(self, ducked: bool) -> None:
        """Lower the coach's voice to DUCK_GAIN (the person is talking over it), or bring it
        back; the echo reference follows the output's gain. An output that cannot change its
        gain plays on as it was."""
        set_gain = getattr(self._output, "set_gain", None)
        with self._lock:
            if set_gain is None or ducked == self.ducked:
                return
            self.ducked = ducked
            set_gain(DUCK_GAIN if ducked else 1.0, self._gain_applied)
        _LOGGER.info("coach's voice %s", "lowered" if ducked else "back to full")

    def _gain_applied(self, at: float, gain: float) -> None:
        self.reference.gain_from(at, gain)
        if self.on_gain is not None:
            self.on_gain(at, gain)

    def _next(self) -> None:
        if self._closed:
            self._pending.clear()
            return
        while self._pending:
            part = self._pending.popleft()
            asked = self._clock.now()
            audio: RenderedSpeech | None = None
            if self._renderer is not None and self._output is not None and self.voiced:
                try:
                    audio = self._renderer.render(part.text, self.settings)
                except Exception as exc:
                    self._failed("speech", exc)
            if audio is not None:
                try:
                    self._playing = part
                    start = self._output.play(  # type: ignore[union-attr]
                        audio.samples,
                        audio.sample_rate,
                        lambda end, cut, p=part: self._done(end, cut, p),
                    )
                except Exception as exc:
                    self._playing = None
                    self._failed("playback", exc)
                else:
                    self._failed_in_a_row = 0
                    self.reference.started(start, audio.samples, audio.sample_rate, part.text)
                    if part.first:
                        self.last_cue_latency_ms = (start - asked) * 1000
                        self._post(SpeechStarted(now=start, cue=part.cue))
                    return
            # No audio: show the words and let the session carry on as if they were said.
            self._show_text(part.text)
            now = self._clock.now()
            if part.first:
                self._post(SpeechStarted(now=now, cue=part.cue))
            if part.last:
                self._post(SpeechFinished(now=now, cue=part.cue))

    @property
    def voiced(self) -> bool:
        """False once speech has failed MAX_FAILURES_IN_A_ROW times running: a hung engine costs
        its timeout on every sentence, and the session must not stall on each cue for it."""
        return self._failed_in_a_row < MAX_FAILURES_IN_A_ROW

    def _failed(self, what: str, exc: Exception) -> None:
        self.failures += 1
        self._failed_in_a_row += 1
        if not self.voiced:
            _LOGGER.warning(
                "%s failed %d times in a row (%s); showing the words only from now on",
                what,
                self._failed_in_a_row,
                exc,
            )
        elif self._failed_in_a_row == 1:
            _LOGGER.warning("%s failed, showing the words instead: %s", what, exc)
        else:
            _LOGGER.info("%s failed again (%d in a row): %s", what, self._failed_in_a_row, exc)

    def _done(self, end: float, interrupted: bool, part: _Part) -> None:
        with self._lock:
            self.reference.finished(end)
            self._playing = None
            if interrupted or part.last:
                self._post(SpeechFinished(now=end, cue=part.cue, interrupted=interrupted))
            self._next()
            if self._playing is None and not self._pending:
                self.duck(False)  # fallen silent: whatever it says next is at full voice

    def close(self) -> None:
        """Stop speaking for good: cut the sentence under way and wait for its stream to close
        (AudioOutput.close), then stop the renderer. Nothing is said after this."""
        with self._lock:
            self._closed = True
        self.interrupt()
        if self._output is not None:
            self._output.close()
        close = getattr(self._renderer, "close", None)
        if close is not None:
            close()
