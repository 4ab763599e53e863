"""The session's loop: one `queue.Queue` of SessionInput in, the session's cues out as words.

Everything reaches the session through that one queue: intents from the listener thread, speech
started/finished from the speaker, and ticks the loop makes itself at `session.next_deadline()`
(absolute monotonic deadlines, so a late tick never shifts the ones after it). The loop takes one
event at a time, hands it to the session, and gives the cues to the dialog and the speaker. The
live session (app.py) and the demo drive the same loop.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from voicecoach.clock import Clock
from voicecoach.display import Display, Status
from voicecoach.hearing.gate import BARGE_IN
from voicecoach.messages import Cue, IntentHeard, SessionEvent, SessionInput, Tick

_LOGGER = logging.getLogger(__name__)


DISPLAY_REFRESH_S = 0.25
"""Longest the loop waits without redrawing the countdown."""


class SessionLike(Protocol):
    """What the loop needs of voicecoach.session.Session."""

    events: list[SessionEvent]
    summary: Any

    @property
    def state(self) -> str: ...

    @property
    def finished(self) -> bool: ...

    def greet(self, now: float) -> list[Cue]: ...

    def handle(self, event: SessionInput) -> list[Cue]: ...

    def next_deadline(self) -> float | None: ...

    def allowed_intents(self) -> list[str]: ...

    def view(self) -> Any: ...


class SpeakerLike(Protocol):
    @property
    def speaking(self) -> bool: ...

    def say(self, text: str, cue: Cue | None = None) -> None: ...

    def interrupt(self) -> bool: ...

    def adjust(self, adjust: Any) -> Any: ...


class DialogLike(Protocol):
    def render(self, cue: Cue) -> str: ...


class Waiter(Protocol):
    """How the loop waits for its next input; real time here, virtual time in the demo."""

    def next_event(self, deadline: float | None) -> SessionInput | None:
        """The next input, a Tick once `deadline` is reached, or None to just redraw."""
        ...


class RealTimeWaiter:
    """Blocks on the queue until the next deadline of the real (monotonic) clock."""

    def __init__(
        self, events: queue.Queue[SessionInput], clock: Clock, refresh_s: float = DISPLAY_REFRESH_S
    ) -> None:
        self._events = events
        self._clock = clock
        self._refresh_s = refresh_s
        self.tick_errors: list[float] = []
        """How late each tick was, in seconds (for the benchmark)."""

    def next_event(self, deadline: float | None) -> SessionInput | None:
        now = self._clock.now()
        if deadline is not None and now >= deadline:
            self.tick_errors.append(now - deadline)
            return Tick(now=now)
        timeout = self._refresh_s if deadline is None else min(self._refresh_s, deadline - now)
        try:
            return self._events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            pass
        now = self._clock.now()
        if deadline is not None and now >= deadline:
            self.tick_errors.append(now - deadline)
            return Tick(now=now)
        return None


class Observer(Protocol):
    """Who else wants to know what the loop did (the demo's transcript)."""

    def on_cue(self, cue: Cue, text: str, now: float) -> None: ...

    def on_input(self, event: SessionInput, before: str, after: str, cues: list[Cue]) -> None: ...


@dataclass
class Loop:
    """Pulls one event at a time, lets the session decide, says what it says."""

    session: SessionLike
    dialog: DialogLike
    speaker: SpeakerLike
    waiter: Waiter
    clock: Clock
    display: Display | None = None
    observer: Observer | None = None
    on_voice_changed: Callable[[Any], None] | None = None
    handled: list[SessionInput] = field(default_factory=list)
    summary_text: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _last_now: float = float("-inf")
    _after_speech: list[IntentHeard] = field(default_factory=list)
    """Commands heard over the coach that wait for it to finish (IntentHeard.after_speech)."""

    def say(self, cues: list[Cue]) -> None:
        for cue in cues:
            if cue.adjust is not None:
                settings = self.speaker.adjust(cue.adjust)
                if self.on_voice_changed is not None:
                    try:
                        self.on_voice_changed(settings)
                    except Exception as exc:  # never let a settings file stop the session
                        _LOGGER.warning("could not remember the voice setting: %s", exc)
            text = self.dialog.render(cue)
            if cue.prompt_key == "summary":
                self.summary_text = text
            if self.observer is not None:
                self.observer.on_cue(cue, text, self.clock.now())
            if self.display is not None:
                self.display.coach(text)
            self.speaker.say(text, cue)

    def dispatch(self, event: SessionInput) -> None:
        """Hand one input to the session and act on its answer; a command heard over the coach
        that does not cut it short waits until it has finished."""
        if isinstance(event, IntentHeard) and event.after_speech and self.speaker.speaking:
            self._after_speech.append(event)
            return
        self._dispatch(event)
        while self._after_speech and not self.speaker.speaking:
            waited = self._after_speech.pop(0)
            self._dispatch(dataclasses.replace(waited, now=max(waited.now, self.clock.now())))

    def _dispatch(self, event: SessionInput) -> None:
        if isinstance(event, IntentHeard) and event.intent.name in BARGE_IN:
            # What waited for the coach to finish is overtaken: "longer", then "ouch".
            self._after_speech.clear()
        if (
            isinstance(event, IntentHeard)
            and event.intent.name in BARGE_IN
            and self.speaker.speaking
        ):
            # Cut the coach short before the session answers, so the answer is not queued behind.
            self.speaker.interrupt()
        if event.now < self._last_now:
            # Session time never runs backwards. An utterance is stamped with when it ended, and
            # a tick may have been handled in the moment it took to detect that; a sentence's
            # start is stamped with when its first sample reaches the speaker (the DAC time, a
            # little ahead of the clock), and a tick may come due within that lead.
            event = dataclasses.replace(event, now=self._last_now)
        self._last_now = max(self._last_now, event.now)
        before = self.session.state
        cues = self.session.handle(event)
        self.handled.append(event)
        after = self.session.state
        if self.observer is not None:
            self.observer.on_input(event, before, after, cues)
        if isinstance(event, IntentHeard) and self.display is not None:
            self.display.acted(event, before, after)
        self.say(cues)

    def refresh(self) -> None:
        if self.display is None:
            return
        v = self.session.view()
        self.display.status(
            Status(
                routine=v.routine,
                exercise=v.exercise,
                side=v.side,
                state=v.state,
                remaining_s=v.remaining_s,
                total_s=v.total_s,
                step=v.step,
                steps=v.steps,
                allowed=tuple(self.session.allowed_intents()),
            )
        )

    def stop(self) -> None:
        """Ask the loop to return at its next turn (from another thread)."""
        self._stop.set()

    def run(self, *, greet: bool = True, first: list[SessionInput] | None = None) -> None:
        """Until the session has given its summary (or `stop`)."""
        if greet:
            self.say(self.session.greet(self.clock.now()))
        for event in first or []:
            self.dispatch(event)
        while not self.session.finished and not self._stop.is_set():
            event = self.waiter.next_event(self.session.next_deadline())
            if event is None:
                self.refresh()
                continue
            self.dispatch(event)
            self.refresh()


def drive(loop: Loop, *, first: list[SessionInput] | None = None) -> bool:
    """Run the loop until the session's summary; False when Ctrl-C (or `loop.stop()`, which a
    signal or a lost device calls) cut it short.

    A session cut short is not stopped through the session's own "stop": it is left running, so
    the history marks it interrupted when it closes and the next start offers to resume it, as
    after a crash. Only the person saying "stop" ends a session as stopped.
    """
    try:
        loop.run(first=first)
    except KeyboardInterrupt:
        _LOGGER.info("Ctrl-C: ending the session")
        loop.speaker.interrupt()
        return False
    if loop.session.finished:
        return True
    loop.speaker.interrupt()
    return False
