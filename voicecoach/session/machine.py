"""The coaching session: a `transitions` state machine that walks a person through a routine.

Pure logic. Every input carries its own time (`now`); deadlines are absolute, so the live loop
only has to tick at `next_deadline()`. Inputs are intents, ticks and speech start/finish; outputs
are cues (prompt keys and data) for the dialog to word and the speaker to say, plus session events
for the history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from voicecoach.messages import (
    Cue,
    Intent,
    IntentHeard,
    Progress,
    ResumePoint,
    SessionEvent,
    SessionInput,
    SpeechFinished,
    SpeechStarted,
    Tick,
)
from voicecoach.routines import RoutineLibrary
from voicecoach.session import voice
from voicecoach.session.answers import Answers
from voicecoach.session.record import Recorder
from voicecoach.session.states import WAITS_AFTER_SPEECH, new_flow
from voicecoach.summary import SessionSummary

_LOGGER = logging.getLogger(__name__)

START_SURE = 0.9
"""Starting a routine sets a person moving for minutes, so it is the one command the coach asks
back about ("The hip routine?") when the hearing was less sure than this, or was over its own
voice, as voice assistants confirm costly actions; "yes" or "ready" then starts it. PocketSphinx
(issue 19, espeak-ng in six voices) heard "help" as "do hip" at 0.84 to 0.87 and "do all of it"
at 0.79, and the start commands themselves at 0.79 to 1.00 (two thirds of them at 0.9 or
more): those below are asked about, which costs a "yes"."""
CONFIRM_WAIT_S = 12.0
"""How long an unanswered "The hip routine?" stands before the coach lets it go."""


@dataclass(frozen=True)
class SessionView:
    """What a terminal display shows about the session right now."""

    routine: str | None
    exercise: str | None
    """Spoken name of the current exercise."""
    side: str | None
    state: str
    remaining_s: float | None
    """Time left in the current (or upcoming) hold."""
    total_s: float | None
    """Length of the current (or upcoming) hold, extensions included."""
    step: int | None = None
    steps: int | None = None


class Session(Answers):
    """One coaching session over a routine library. Feed it inputs with `handle`; speak its cues.

    The one place that decides what happens next. Its parts each keep one thing and decide
    nothing: the hold clock (`hold`), the step plan (`plan`), the waiting deadline (`wait`), the
    voice settings (`voice`) and the events (`record`). The decisions are layered by job: the
    moves between steps (`moves`), the answers to interruptions (`interruptions`) and to the
    other commands (`answers`), and here the inputs, ticks and voice settings."""

    def __init__(
        self,
        library: RoutineLibrary,
        *,
        settle_s: float = 15.0,
        checkins: bool = True,
        progress: Progress | None = None,
        resumable: ResumePoint | None = None,
        on_event: Callable[[SessionEvent], None] | None = None,
        stop_window_s: float = 30.0,
        checkin_wait_s: float = 30.0,
        nudge_grace_s: float = 8.0,
    ) -> None:
        self._lib = library
        self._settle_s = settle_s
        self._checkins = checkins
        self._progress = progress
        self._resumable = resumable
        self._stop_window_s = stop_window_s
        self._checkin_wait_s = checkin_wait_s
        self._nudge_grace_s = nudge_grace_s
        self._rec = Recorder(on_event)
        self.summary: SessionSummary | None = None
        self._flow = new_flow()
        self._reset_run()

    # --- public API --------------------------------------------------------------------------

    @property
    def events(self) -> list[SessionEvent]:
        """This session's events so far, in order."""
        return self._rec.events

    @property
    def finished(self) -> bool:
        return self.state == "summary"

    def handle(self, event: SessionInput) -> list[Cue]:
        """Take one input; return what to say now."""
        self._now = max(self._now, event.now)
        if isinstance(event, IntentHeard):
            if self._needs_confirming(event):
                cues = self._confirm_start(event.intent, event.now)
            else:
                cues = self._on_intent(event.intent, event.now)
            self._last_intent = event.intent.name
            return cues
        if isinstance(event, Tick):
            return self._on_tick(event.now)
        if isinstance(event, SpeechStarted):
            if self._wait.length is not None and self.state in WAITS_AFTER_SPEECH:
                self._wait.deadline = None
            return []
        if isinstance(event, SpeechFinished):
            if self._wait.length is not None and self.state in WAITS_AFTER_SPEECH:
                self._wait.restart(event.now)
            return []
        raise TypeError(f"not a session input: {event!r}")

    def next_deadline(self) -> float | None:
        """The absolute time at which the loop should send the next Tick, or None."""
        if self.state == "hold" and self._clock.running:
            return self._clock.next_deadline(self._milestones())
        return self._wait.deadline

    def view(self) -> SessionView:
        step = self._plan.step
        clock = self._clock
        remaining = total = None
        if step is not None and self.state in ("setup", "side_switch", "hold", "paused", "stopped"):
            total = clock.real(clock.target)
            remaining = clock.real(max(0.0, clock.target - clock.achieved(self._now)))
        return SessionView(
            routine=self._plan.routine,
            exercise=step.exercise.name if step else None,
            side=step.side if step else None,
            state=self.state,
            remaining_s=remaining,
            total_s=total,
            step=step.index if step else None,
            steps=len(self._plan.steps) or None,
        )

    # --- ticks -------------------------------------------------------------------------------

    def _on_tick(self, now: float) -> list[Cue]:
        state = self.state
        if state == "hold":
            return self._fire_milestones(now)
        if not self._wait.over(now):
            return []
        at = self._wait.deadline
        assert at is not None
        if state in ("setup", "side_switch"):
            return self._settle_over(now)
        if state == "checkin_before":
            return [Cue("checkin_skipped"), *self._enter_step(at, announce_switch=False)]
        if state == "checkin_after":
            return self._finish(at, completed=True)
        if state == "stopped":
            return self._finish_stopped(at)
        self._wait.deadline = None
        if self._confirming is not None:
            self._confirming = None
            self._wait.length = None
            return [Cue("confirm_lapsed")]
        return []

    # --- intents -----------------------------------------------------------------------------

    def _needs_confirming(self, event: IntentHeard) -> bool:
        """A start heard unsure, or over the coach, from where it would start a routine."""
        u = event.utterance
        if event.intent.name != "start_routine" or self.state not in ("idle", "summary"):
            return False
        if u is None or (u.confidence >= START_SURE and not event.after_speech):
            return False
        routine = self._lib.find(str(event.intent.slots.get("routine", "")))
        return routine is not None and routine.id != self._confirming

    def _confirm_start(self, intent: Intent, now: float) -> list[Cue]:
        """Ask back before starting: "The hip routine? Say yes to start it." """
        routine = self._lib.find(str(intent.slots["routine"]))
        assert routine is not None
        self._confirming = routine.id
        self._wait.start(now, CONFIRM_WAIT_S)
        cues = [Cue("confirm_start", {"routine": routine.name})]
        self._last = cues
        return cues

    def _on_intent(self, intent: Intent, now: float) -> list[Cue]:
        name = intent.name
        if self._confirming is not None:
            asked, self._confirming = self._confirming, None
            self._wait.clear()
            said = self._lib.find(str(intent.slots.get("routine", "")))
            if name == "ready" or (name == "start_routine" and (said is None or said.id == asked)):
                return self._start_session(asked, now)
            # Anything else lets the question go and is answered as itself.
        if name in ("slower", "faster") and self._paced_step_now():
            return self._change_pace(name, now)
        if voice.is_voice_setting(name):
            return [voice.speech_reply(name)]
        handler = getattr(self, f"_i_{name}", None)
        if handler is None:
            _LOGGER.warning("no handler for intent %r", name)
            return [Cue("not_understood", {"allowed": self.allowed_intents()})]
        # A late tick must not let an intent act on a hold that has already ended.
        cues: list[Cue] = self._on_tick(now) if self.state in ("hold",) else []
        return cues + list(handler(intent, now))

    def _change_pace(self, name: str, now: float) -> list[Cue]:
        """ "Move slower than you think you need to": slower/faster change the paced phases
        (within the routine file's limits) as well as the voice."""
        # What is due at the old pace is said at the old pace (a late tick may even end the
        # hold and move on, to a step that is not paced).
        due = self._on_tick(now) if self.state == "hold" else []
        if not self._paced_step_now():
            return [*due, voice.speech_reply(name)]
        ex = self._plan.current.exercise
        assert ex.reps is not None
        change = self._paces.proposed(name, ex.id, ex.reps)
        if not change.at_limit:
            running = self._clock.running
            self._clock.end_segment(now)  # time so far counts at the old pace
            self._paces.set(ex.id, change.new)
            if running:
                self._clock.seg_start = now
            self._emit("pace", now, {"scale": change.new})
        return [*due, voice.pace_reply(name, ex.reps, change)]
