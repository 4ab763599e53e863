"""The coaching session: a `transitions` state machine that walks a person through a routine.

Pure logic. Every input carries its own time (`now`); deadlines are absolute, so the live loop
only has to tick at `next_deadline()`. Inputs are intents, ticks and speech start/finish; outputs
are cues (prompt keys and data) for the dialog to word and the speaker to say, plus session events
for the history.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from transitions import Machine

from voicecoach.messages import (
    Cue,
    Intent,
    IntentHeard,
    Progress,
    ResumePoint,
    SessionEvent,
    SessionInput,
    SpeechAdjust,
    SpeechFinished,
    SpeechStarted,
    Tick,
)
from voicecoach.routines import RoutineLibrary, Step
from voicecoach.summary import SessionSummary, summarize

_LOGGER = logging.getLogger(__name__)

# --- the machine, as data ---------------------------------------------------------------------

STATES = [
    "idle",  # waiting for "start ..." (or "resume" when a resume point is known)
    "checkin_before",  # "how stiff do your hips feel?"
    "setup",  # instructions spoken; the hold starts on "ready" or after the settle time
    "side_switch",  # same exercise, other side; starts like setup
    "hold",  # a timed hold or paced repetitions, running
    "paused",  # frozen; remembers the state it came from
    "stopped",  # "stop" said: a short window in which "resume" continues
    "checkin_after",  # the routine is done; "how stiff now?"
    "summary",  # the end; the summary has been given
]

_IN_SESSION = ["checkin_before", "setup", "side_switch", "hold", "paused", "checkin_after"]
_STEPPING = ["checkin_before", "setup", "side_switch", "hold", "paused", "stopped"]

TRANSITIONS: list[dict[str, object]] = [
    {"trigger": "begin_checkin", "source": ["idle", "summary"], "dest": "checkin_before"},
    {
        "trigger": "begin_setup",
        "source": ["idle", "summary", *_STEPPING, "checkin_after"],
        "dest": "setup",
    },
    {"trigger": "begin_side_switch", "source": _STEPPING, "dest": "side_switch"},
    {
        "trigger": "begin_hold",
        "source": ["setup", "side_switch", "paused", "stopped"],
        "dest": "hold",
    },
    {"trigger": "pause", "source": ["setup", "side_switch", "hold"], "dest": "paused"},
    {"trigger": "stop", "source": _IN_SESSION, "dest": "stopped"},
    {"trigger": "back_to_checkin", "source": ["stopped"], "dest": "checkin_before"},
    {
        "trigger": "begin_checkin_after",
        "source": [*_STEPPING, "checkin_after"],
        "dest": "checkin_after",
    },
    {"trigger": "finish", "source": [*_IN_SESSION, "stopped"], "dest": "summary"},
]

SPEECH_STEP_WPM = 20
"""Words per minute that slower/faster add or take away."""
SPEECH_STEP_VOLUME = 0.1
"""Volume (0..1) that louder/quieter add or take away."""

ALL_INTENTS = (  # every intent the grammar defines; each gets an answer in every state
    "start_routine",
    "ready",
    "repeat",
    "skip",
    "back",
    "extend",
    "pause",
    "resume",
    "stop",
    "time_left",
    "help",
    "slower",
    "faster",
    "louder",
    "quieter",
    "pain",
    "rating",
)
_SPEECH = {
    "slower": SpeechAdjust(rate_delta=-SPEECH_STEP_WPM),
    "faster": SpeechAdjust(rate_delta=SPEECH_STEP_WPM),
    "louder": SpeechAdjust(volume_delta=SPEECH_STEP_VOLUME),
    "quieter": SpeechAdjust(volume_delta=-SPEECH_STEP_VOLUME),
}
_GETTING_INTO_POSITION = (
    "ready",
    "repeat",
    "skip",
    "back",
    "extend",
    "pause",
    "time_left",
    "pain",
    "stop",
    "help",
)
_ALLOWED: dict[str, tuple[str, ...]] = {
    "idle": ("start_routine", "resume", "help"),
    "checkin_before": ("rating", "skip", "repeat", "stop", "help"),
    "setup": _GETTING_INTO_POSITION,
    "side_switch": _GETTING_INTO_POSITION,
    "hold": ("time_left", "extend", "pause", "repeat", "skip", "back", "pain", "stop", "help"),
    "paused": ("resume", "time_left", "extend", "skip", "back", "repeat", "pain", "stop", "help"),
    "stopped": ("resume", "stop", "help"),
    "checkin_after": ("rating", "skip", "back", "repeat", "stop", "help"),
    "summary": ("repeat", "start_routine", "help"),
}
_SPEECH_INTENTS = ("slower", "faster", "louder", "quieter")
_WAITS_AFTER_SPEECH = ("setup", "side_switch", "checkin_before", "checkin_after")
"""States whose wait (settle time, check-in answer) counts from the end of the coach's speech."""

_EPS = 1e-9

START_SURE = 0.9
"""Starting a routine sets a person moving for minutes, so it is the one command the coach asks
back about ("The hip routine?") when the hearing was less sure than this, or was over its own
voice, as voice assistants confirm costly actions; "yes" or "ready" then starts it. PocketSphinx
(issue 19, espeak-ng in six voices) heard "help" as "do hip" at 0.84 to 0.87 and "do all of it"
at 0.79, and the start commands themselves at 0.79 to 1.00 (two thirds of them at 0.9 or
more): those below are asked about, which costs a "yes"."""
CONFIRM_WAIT_S = 12.0
"""How long an unanswered "The hip routine?" stands before the coach lets it go."""


def _held(data: dict[str, object]) -> float:
    value = data.get("achieved_s")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


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


class _Flow:
    """The machine's model: only holds the state; the session decides what triggers to fire."""

    state: str
    trigger: Callable[[str], bool]
    """Bound by transitions: fire a trigger by name."""


class Session:
    """One coaching session over a routine library. Feed it inputs with `handle`; speak its cues."""

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
        self._on_event = on_event
        self._stop_window_s = stop_window_s
        self._checkin_wait_s = checkin_wait_s
        self._nudge_grace_s = nudge_grace_s
        self.events: list[SessionEvent] = []
        self.summary: SessionSummary | None = None
        self._flow = _Flow()
        self._machine = Machine(
            model=self._flow,
            states=STATES,
            transitions=TRANSITIONS,
            initial="idle",
            queued=True,
            auto_transitions=False,
        )
        self._reset_run()

    def _reset_run(self) -> None:
        self._routine: str | None = None
        self._steps: list[Step] = []
        self._index = 0
        self._target = 0.0  # this step's hold length, extensions included
        self._done = 0.0  # hold time achieved on this step before the running segment
        self._span = 0.0  # hold time in the current hold_started..hold_ended span, before segment
        self._seg_start: float | None = None  # when the running hold segment began
        self._fired: set[str] = set()
        # Reminders said so far per exercise id: wordings take turns across sides and attempts,
        # so a routine's later reminders are heard instead of the first one at every hold.
        self._reminders_said: dict[str, int] = {}
        self._hold_began = False  # the current step's hold has started (maybe paused)
        self._deadline: float | None = None  # settle, check-in wait or stop window
        self._wait_s: float | None = None  # restart length of _deadline after speech
        self._paused_from: str | None = None
        self._stopped_from: str | None = None
        self._last: list[Cue] = []
        self._last_intent: str | None = None
        self._now = 0.0
        self._nudged = False  # "starts on its own in a few seconds" said for this wait
        self._pain_said = False  # the pain guidance is said on the first pain of a session
        self._pain_on_step: dict[int, int] = {}
        self._stopped_for_ready = False  # stopped in a setup that waited for "ready" alone
        self._paces: dict[str, float] = {}  # paced exercise id -> phase length multiple
        self._span_nominal = 0.0  # like _span, in the paced exercise's own (unscaled) seconds
        self._skipped_side: str | None = None  # a first side skipped just now, for the switch
        # Optional exercises the person said "ready" to when asked: their instructions follow.
        self._accepted: set[str] = set()
        # Exercise id -> sides on which pain was said (a hold it stopped, or getting into it).
        self._pain_sides: dict[str, set[str | None]] = {}
        self._confirming: str | None = None  # a routine id the coach has asked back about

    # --- public API --------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._flow.state

    @property
    def finished(self) -> bool:
        return self.state == "summary"

    def greet(self, now: float) -> list[Cue]:
        """The idle greeting; mentions where the last session stopped, if known."""
        self._now = now
        cues = [Cue("greeting", {"routines": self._routine_names()})]
        if self._resumable is not None:
            cues.append(Cue("greeting_resume", self._resume_data()))
        self._last = cues
        return cues

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
            if self._wait_s is not None and self.state in _WAITS_AFTER_SPEECH:
                self._deadline = None
            return []
        if isinstance(event, SpeechFinished):
            if self._wait_s is not None and self.state in _WAITS_AFTER_SPEECH:
                self._deadline = event.now + self._wait_s
            return []
        raise TypeError(f"not a session input: {event!r}")

    def next_deadline(self) -> float | None:
        """The absolute time at which the loop should send the next Tick, or None."""
        if self.state == "hold" and self._seg_start is not None:
            pending = [t for key, t in self._milestones() if key not in self._fired]
            if pending:
                return self._seg_start + (min(pending) - self._done) * self._scale()
            return None
        return self._deadline

    def allowed_intents(self) -> list[str]:
        """What makes sense to say now (every intent still gets an answer)."""
        allowed = list(_ALLOWED[self.state])
        if self.state == "idle" and self._resumable is None:
            allowed.remove("resume")
        return [*allowed, *_SPEECH_INTENTS]

    def view(self) -> SessionView:
        step = self._step
        remaining = total = None
        if step is not None and self.state in ("setup", "side_switch", "hold", "paused", "stopped"):
            total = self._real(self._target)
            remaining = self._real(max(0.0, self._target - self._achieved(self._now)))
        return SessionView(
            routine=self._routine,
            exercise=step.exercise.name if step else None,
            side=step.side if step else None,
            state=self.state,
            remaining_s=remaining,
            total_s=total,
            step=step.index if step else None,
            steps=len(self._steps) or None,
        )

    # --- helpers -----------------------------------------------------------------------------

    @property
    def _step(self) -> Step | None:
        if 0 <= self._index < len(self._steps):
            return self._steps[self._index]
        return None

    def _go(self, trigger: str) -> None:
        self._flow.trigger(trigger)

    def _emit(self, kind: str, at: float, data: dict[str, object] | None = None) -> None:
        step = self._step if self.state != "idle" else None
        event = SessionEvent(
            kind=kind,
            at=at,
            routine=self._routine,
            exercise=step.exercise.id if step else None,
            side=step.side if step else None,
            data=dict(data or {}),
        )
        self.events.append(event)
        _LOGGER.info("event %s at %.3f %s", kind, at, event.data)
        if self._on_event is not None:
            self._on_event(event)

    def _routine_names(self) -> list[str]:
        return [r.name for r in self._lib.routines()]

    def _resume_data(self) -> dict[str, object]:
        point = self._resumable
        assert point is not None
        try:
            routine = self._lib.get(point.routine).name
        except Exception:  # the routine may have gone since; still say what we know
            routine = point.routine
        return {"routine": routine, "exercise": point.exercise, "side": point.side}

    def _step_data(self, step: Step) -> dict[str, object]:
        ex = step.exercise
        return {
            "exercise": ex.name,
            "side": step.side,
            "side_name": ex.side_name(step.side),
            "why": ex.why,
            "steps": list(ex.setup),
            "switch": ex.switch,
            "reps": ex.reps.count if ex.reps else None,
            "duration": self._target,
            "first_side": step.first_side,
        }

    def _instructions(self, step: Step, *, why: bool) -> list[Cue]:
        """A step's setup: the instructions, then (first time) why it works, then "say ready".
        "repeat" gives them without the why. An optional exercise is offered first (`_offer`):
        its instructions come once the person has said ready to it."""
        data = self._step_data(step)
        if not why:
            data["first_side"] = False
        return [Cue("setup", data), Cue("setup_end", data)]

    def _settle_time(self, step: Step) -> float:
        """Time to get into position: more when the position changes (lying to kneeling), or
        for the first step, when the person gets down onto the floor."""
        ex = step.exercise
        settle = ex.settle_seconds if ex.settle_seconds is not None else self._settle_s
        if ex.reposition_seconds is None:
            return settle
        prev = self._steps[step.index - 1].exercise if step.index > 0 else None
        if prev is None or prev.position != ex.position:
            return max(settle, ex.reposition_seconds)
        return settle

    # --- hold time accounting ----------------------------------------------------------------

    def _scale(self) -> float:
        """Real seconds per second of the step's own timing: paced phases said "slower" last
        longer; everything is counted in the routine file's seconds and scaled here."""
        step = self._step
        if step is None or step.exercise.reps is None:
            return 1.0
        return self._paces.get(step.exercise.id, 1.0)

    def _achieved(self, now: float) -> float:
        running = (now - self._seg_start) if self._seg_start is not None else 0.0
        return self._done + max(0.0, running) / self._scale()

    def _real(self, seconds: float) -> float:
        """Routine-file seconds of the current step as real seconds at the current pace."""
        return seconds * self._scale()

    def _milestones(self) -> list[tuple[str, float]]:
        """(key, achieved seconds) points of the running hold, the end included."""
        step = self._step
        assert step is not None
        ex = step.exercise
        target = self._target
        out: list[tuple[str, float]] = [("end", target)]
        if ex.reps is not None:
            t = 0.0
            k = 0
            while t < target - _EPS:
                for p, phase in enumerate(ex.reps.phases):
                    if t >= target - _EPS:
                        break
                    out.append((f"phase:{k}:{p}", t))
                    t += phase.seconds
                k += 1
            reps = ex.reps.reps_for(target)
            if reps >= 2:
                # "Last one", and what comes next, at the start of the final repetition.
                out.append((f"lastrep:{target:.3f}", (reps - 1) * ex.reps.rep_seconds))
            return out
        hold = ex.hold
        assert hold is not None
        quiet: list[float] = [target]
        if hold.countdown and target > hold.countdown * 2:
            out.append((f"countdown:{target:.3f}", target - hold.countdown))
            quiet.append(target - hold.countdown)
        if hold.halfway and target >= 60:
            out.append(("halfway", target / 2))
            quiet.append(target / 2)
        if hold.reminder_every:
            n = 1
            while n * hold.reminder_every < target - _EPS:
                t = n * hold.reminder_every
                if all(abs(t - q) >= min(8.0, hold.reminder_every / 2) for q in quiet):
                    out.append((f"reminder:{n}", t))
                n += 1
        return out

    def _milestone_cue(self, key: str, at: float) -> Cue | None:
        step = self._step
        assert step is not None
        ex = step.exercise
        if key.startswith("phase:"):
            _, k, p = key.split(":")
            assert ex.reps is not None
            phase = ex.reps.phases[int(p)]
            rep = int(k)
            # The first repetition gets the full wording; later ones cycle through shorter ones.
            pick = 0 if rep == 0 or len(phase.say) == 1 else 1 + (rep - 1) % (len(phase.say) - 1)
            words = phase.say[pick]
            return Cue("pace", {"words": words, "rep": int(k) + 1, "of": self._rep_total()})
        if key.startswith("lastrep:"):
            return Cue("last_rep", {"next": self._next_exercise_name()})
        if key.startswith("countdown:"):
            assert ex.hold is not None
            data: dict[str, object] = {"seconds": ex.hold.countdown}
            nxt = self._next_exercise_name()
            if nxt is not None:
                data["next"] = nxt
            return Cue("countdown", data)
        if key == "halfway":
            return Cue("halfway", {"remaining": self._target - at})
        if key.startswith("reminder:"):
            assert ex.hold is not None
            said = self._reminders_said.get(ex.id, 0)
            self._reminders_said[ex.id] = said + 1
            return Cue("reminder", {"text": ex.hold.reminders[said % len(ex.hold.reminders)]})
        return None

    def _rep_total(self) -> int:
        ex = self._steps[self._index].exercise
        assert ex.reps is not None
        return ex.reps.reps_for(self._target)

    def _next_exercise_name(self) -> str | None:
        """The next exercise's name when this is its last side and another exercise follows."""
        step = self._step
        if step is None or not step.last_side or self._index + 1 >= len(self._steps):
            return None
        return self._steps[self._index + 1].exercise.name

    # --- moving between steps ----------------------------------------------------------------

    def _start_session(
        self, routine_id: str, now: float, start_index: int = 0, resumed: ResumePoint | None = None
    ) -> list[Cue]:
        if self.state == "summary":
            self.events = []
            self.summary = None
        self._reset_run()
        self._now = now
        self._routine = routine_id
        self._steps = self._lib.steps(routine_id)
        self._index = max(0, min(start_index, len(self._steps) - 1))
        data: dict[str, object] = {"steps": len(self._steps), "start_step": self._index}
        if resumed is not None:
            data["resumed_from"] = resumed.step_index
            if resumed.session_id is not None:
                data["resumed_session_id"] = resumed.session_id
        self._emit("session_started", now, data)
        routine = self._lib.get(routine_id)
        cues = [
            Cue(
                "start_resumed" if resumed else "start",
                {
                    "routine": routine.name,
                    "steps": len(self._steps),
                    "duration": self._lib.total_seconds(routine_id),
                    "exercise": self._steps[self._index].exercise.name,
                },
            )
        ]
        if self._checkins and resumed is None:
            self._go("begin_checkin")
            self._wait_s = self._checkin_wait_s
            self._deadline = now + self._checkin_wait_s
            ask = [Cue("checkin_before")]
            self._last = ask
            return cues + ask
        return cues + self._enter_step(now, announce_switch=False)

    def _enter_step(self, now: float, *, announce_switch: bool = True) -> list[Cue]:
        """Go to the setup (or side switch) of the current step and say how to get ready; for
        an optional exercise, ask first."""
        step = self._steps[self._index]
        ex = step.exercise
        if ex.optional is not None:
            left_out = self._leave_out_after_pain(now)
            if left_out is not None:
                return left_out
        self._target = ex.target_seconds
        self._done = 0.0
        self._span = 0.0
        self._seg_start = None
        self._fired = set()
        self._hold_began = False
        self._nudged = False
        self._wait_s = self._settle_time(step)
        skipped_side, self._skipped_side = self._skipped_side, None
        if ex.optional is not None and ex.id not in self._accepted:
            return self._offer(now)
        if announce_switch and not step.first_side and self._index > 0:
            prev = self._steps[self._index - 1]
            if prev.exercise.id == ex.id:
                self._go("begin_side_switch")
                self._emit("step_started", now, {"step": self._index})
                data = self._step_data(step)
                if skipped_side is not None:
                    data["skipped_side"] = skipped_side
                cues = [Cue("side_switch", data)]
                self._deadline = now + self._wait_s
                self._last = cues
                return cues
        self._go("begin_setup")
        self._emit("step_started", now, {"step": self._index})
        cues = self._instructions(step, why=step.first_side)
        self._deadline = now + self._wait_s
        self._last = cues
        return cues

    def _begin_hold(self, now: float) -> list[Cue]:
        step = self._steps[self._index]
        self._go("begin_hold")
        self._deadline = None
        self._wait_s = None
        self._seg_start = now
        self._span = 0.0
        self._span_nominal = 0.0
        first = not self._hold_began
        self._hold_began = True
        self._emit("hold_started", now, {"target_s": self._target, "continued": not first})
        ex = step.exercise
        remaining = self._target - self._done
        if ex.reps is not None and first:
            cues = [
                Cue(
                    "reps_start",
                    {
                        "reps": self._rep_total(),
                        "side_name": ex.side_name(step.side),
                        "exercise": ex.name,
                    },
                )
            ]
        else:
            data: dict[str, object] = {"duration": remaining, "side_name": ex.side_name(step.side)}
            if first and ex.hold is not None:
                if ex.hold.source_range is not None:
                    data["range_low"], data["range_high"] = ex.hold.source_range
                if ex.hold.begin:
                    data["begin"] = ex.hold.begin
            cues = [Cue("hold_start" if first else "hold_continue", data)]
        cues += self._fire_milestones(now)
        self._last = cues
        return cues

    def _end_segment(self, now: float) -> None:
        """Freeze the running hold segment (for pause, stop, pain, skip, back, the end)."""
        if self._seg_start is not None:
            run = max(0.0, now - self._seg_start)
            self._done += run / self._scale()
            self._span += run
            self._span_nominal += run / self._scale()
            self._seg_start = None

    def _close_span(self, now: float, ended: str) -> None:
        """Record what was held since the last hold_started, and why it ended (done, pain,
        stop, skip, back)."""
        self._end_segment(now)
        step = self._steps[self._index]
        data: dict[str, object] = {"achieved_s": self._span, "ended": ended}
        if step.exercise.reps is not None:
            data["reps"] = step.exercise.reps.reps_for(self._span_nominal)
        self._emit("hold_ended", now, data)
        self._span = 0.0
        self._span_nominal = 0.0

    def _fire_milestones(self, now: float) -> list[Cue]:
        """Say what is due in the running hold; at its end, move on."""
        if self._seg_start is None:
            return []
        achieved = self._achieved(now)
        due = sorted(
            ((t, key) for key, t in self._milestones() if key not in self._fired),
            key=lambda item: item[0],
        )
        if any(key == "end" and t <= achieved + _EPS for t, key in due):
            end_at = self._seg_start + (self._target - self._done) * self._scale()
            self._fired.update(key for _, key in due)
            return self._complete_hold(end_at)
        cues: list[Cue] = []
        latest: dict[str, tuple[float, str]] = {}
        for t, key in due:
            if t <= achieved + _EPS:
                self._fired.add(key)
                latest[key.split(":")[0]] = (t, key)  # a late tick says only the latest of a kind
        for t, key in sorted(latest.values()):
            cue = self._milestone_cue(key, t)
            if cue is not None:
                cues.append(cue)
        return cues

    def _complete_hold(self, end_at: float) -> list[Cue]:
        self._close_span(end_at, "done")
        self._hold_began = False
        step = self._steps[self._index]
        # Moving to the other side has its own words for coming out of the position; so has a
        # next exercise in the same position (constructive rest, then the slide).
        nxt = self._steps[self._index + 1].exercise if self._index + 1 < len(self._steps) else None
        keeps = (
            nxt is not None
            and step.exercise.position is not None
            and nxt.position == step.exercise.position
        )
        lead = None if not step.last_side or keeps else Cue("hold_done", {"last_side": True})
        return self._advance(end_at, lead)

    def _advance(self, now: float, lead: Cue | None = None) -> list[Cue]:
        """Go on to the next step, or to the end of the routine."""
        cues = [lead] if lead is not None else []
        if self._index + 1 >= len(self._steps):
            return cues + self._routine_done(now)
        self._index += 1
        return cues + self._enter_step(now)

    def _routine_done(self, now: float) -> list[Cue]:
        self._index = len(self._steps) - 1
        if self._checkins:
            self._go("begin_checkin_after")
            self._wait_s = self._checkin_wait_s
            self._deadline = now + self._checkin_wait_s
            cues = [Cue("routine_done"), Cue("checkin_after")]
            self._last = cues[1:]
            return cues
        return [Cue("routine_done"), *self._finish(now, completed=True)]

    def _advised_part(self) -> str | None:
        """The routine whose source advises a daily count ("Repeat 2 - 3 times daily") if this
        session held one of its exercises: only such sessions count towards that advice."""
        held = {e.exercise for e in self.events if e.kind == "hold_ended" and _held(e.data) > _EPS}
        for step in self._steps:
            if step.exercise.id in held and self._lib.get(step.part).advised_per_day:
                return step.part
        return None

    def _finish(self, now: float, *, completed: bool) -> list[Cue]:
        self._deadline = None
        self._wait_s = None
        held_any = any(e.kind == "hold_ended" and _held(e.data) > _EPS for e in self.events)
        # A session whose every step was skipped is not a completed one (not today's count or
        # the streak), though it ran to its end.
        all_skipped = completed and not held_any
        completed = completed and held_any
        counts_for = self._advised_part()
        finished: dict[str, object] = {"completed": completed}
        if all_skipped:
            finished["all_skipped"] = True
        if counts_for is not None:
            finished["counts_for"] = counts_for
        self._emit("finished", now, finished)
        self._go("finish")
        self.summary = summarize(self.events, self._progress)
        names = {ex.id: ex.name for _, ex in self._lib.exercises(self._routine or "")}
        routine = self._lib.get(self._routine).name if self._routine else None
        data: dict[str, object] = {"summary": self.summary, "names": names, "routine": routine}
        # Only a session that held an exercise whose source advises a daily count gets it said.
        if counts_for is not None:
            data["advised"] = self._lib.get(counts_for).advised_per_day
            data["advised_for"] = self._lib.get(counts_for).name
        cues = [Cue("summary", data)]
        self._last = cues
        return cues

    # --- ticks -------------------------------------------------------------------------------

    def _on_tick(self, now: float) -> list[Cue]:
        state = self.state
        if state == "hold":
            return self._fire_milestones(now)
        if self._deadline is None or now < self._deadline - _EPS:
            return []
        at = self._deadline
        if state in ("setup", "side_switch"):
            return self._settle_over(now)
        if state == "checkin_before":
            return [Cue("checkin_skipped"), *self._enter_step(at, announce_switch=False)]
        if state == "checkin_after":
            return self._finish(at, completed=True)
        if state == "stopped":
            return self._finish_stopped(at)
        self._deadline = None
        if self._confirming is not None:
            self._confirming = None
            self._wait_s = None
            return [Cue("confirm_lapsed")]
        return []

    def _offering(self) -> bool:
        """Asking whether to do an optional exercise (not yet said ready to, not begun)."""
        step = self._step
        return (
            self.state == "setup"
            and step is not None
            and step.exercise.optional is not None
            and step.exercise.id not in self._accepted
            and not self._hold_began
        )

    def _offer_cue(self) -> Cue:
        ex = self._steps[self._index].exercise
        return Cue(
            "offer", {"exercise": ex.name, "why": ex.why, "first_side": True, "offer": ex.optional}
        )

    def _offer(self, now: float) -> list[Cue]:
        """Ask whether to do an optional exercise, before any of its instructions: the source
        makes it optional ("if that is feeling easy"), so the person hears that it is a choice
        before being told how to get into it."""
        self._go("begin_setup")
        self._emit("step_started", now, {"step": self._index})
        self._deadline = now + self._wait_s
        cues = [self._offer_cue()]
        self._last = cues
        return cues

    def _accept_offer(self, now: float) -> list[Cue]:
        """ "ready" to an optional exercise: now its instructions, then "say ready" again."""
        step = self._steps[self._index]
        self._accepted.add(step.exercise.id)
        self._nudged = False
        self._wait_s = self._settle_time(step)
        self._deadline = now + self._wait_s
        cues = self._instructions(step, why=False)
        self._last = cues
        return cues

    def _base_exercise(self, step: Step) -> str | None:
        """The exercise an optional one deepens: the one just before its first side ("if that
        is feeling easy ... get in a bit deeper")."""
        first = step.index
        while first > 0 and self._steps[first - 1].exercise is step.exercise:
            first -= 1
        return self._steps[first - 1].exercise.id if first > 0 else None

    def _leave_out_after_pain(self, now: float) -> list[Cue] | None:
        """An optional exercise is not offered, nor done, on a side where pain was said in the
        exercise it deepens: going deeper where it hurt is what "don't push into pain" rules
        out. Says so in one sentence and goes on; None when the current side is fine."""
        step = self._steps[self._index]
        ex = step.exercise
        base = self._base_exercise(step)
        hurt = self._pain_sides.get(base, set()) if base is not None else set()
        end = self._index
        while end < len(self._steps) and self._steps[end].exercise is ex:
            if self._steps[end].side not in hurt:
                break
            end += 1
        if end == self._index:
            return None
        assert base is not None
        sides = [self._steps[k].side for k in range(self._index, end)]
        self._emit("declined", now, {"step": self._index, "reason": "pain", "sides": sides})
        every = end >= len(self._steps) or self._steps[end].exercise is not ex
        base_name = self._lib_exercise_name(base)
        data: dict[str, object] = {
            "exercise": ex.name,
            "base": base_name,
            "side": sides[0] or "",
            "both": len(sides) > 1,
            "every": every,
        }
        # Left out right after its other side was held: nothing else says to come out of it.
        ease_out = self._index > 0 and self._steps[self._index - 1].exercise is ex
        self._index = end - 1
        cues = [Cue("hold_done", {"last_side": True})] if ease_out else []
        return cues + self._advance(now, Cue("declined_after_pain", data))

    def _lib_exercise_name(self, exercise_id: str) -> str:
        for step in self._steps:
            if step.exercise.id == exercise_id:
                return step.exercise.name
        return exercise_id.replace("_", " ")

    def _settle_over(self, now: float) -> list[Cue]:
        """Nothing heard in the settle time. "Say ready" means it, and the coach stays
        hands-free: say once that it goes on by itself in a few seconds unless they say wait;
        then go on. An optional exercise is not started unasked: it is left out instead."""
        if not self._nudged:
            self._nudged = True
            self._wait_s = self._nudge_grace_s
            self._deadline = now + self._nudge_grace_s
            step = self._steps[self._index]
            key = "offer_nudge" if self._offering() else "ready_nudge"
            return [Cue(key, {"exercise": step.exercise.name, "seconds": self._nudge_grace_s})]
        if self._offering():
            return self._decline(now)
        return self._begin_hold(now)

    def _decline(self, now: float) -> list[Cue]:
        """Leave out an optional exercise (all its sides): not a skipped step."""
        ex = self._steps[self._index].exercise
        self._emit("declined", now, {"step": self._index})
        while self._index + 1 < len(self._steps) and self._steps[self._index + 1].exercise is ex:
            self._index += 1
        return self._advance(now, Cue("declined", {"exercise": ex.name}))

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
        self._deadline = now + CONFIRM_WAIT_S
        self._wait_s = CONFIRM_WAIT_S
        cues = [Cue("confirm_start", {"routine": routine.name})]
        self._last = cues
        return cues

    def _on_intent(self, intent: Intent, now: float) -> list[Cue]:
        name = intent.name
        if self._confirming is not None:
            asked, self._confirming = self._confirming, None
            self._deadline = self._wait_s = None
            said = self._lib.find(str(intent.slots.get("routine", "")))
            if name == "ready" or (name == "start_routine" and (said is None or said.id == asked)):
                return self._start_session(asked, now)
            # Anything else lets the question go and is answered as itself.
        if name in ("slower", "faster") and self._paced_step_now():
            return self._change_pace(name, now)
        if name in _SPEECH:
            return [Cue(f"speech_{name}", adjust=_SPEECH[name])]
        handler = getattr(self, f"_i_{name}", None)
        if handler is None:
            _LOGGER.warning("no handler for intent %r", name)
            return [Cue("not_understood", {"allowed": self.allowed_intents()})]
        # A late tick must not let an intent act on a hold that has already ended.
        cues: list[Cue] = self._on_tick(now) if self.state in ("hold",) else []
        return cues + list(handler(intent, now))

    def _paced_step_now(self) -> bool:
        step = self._step
        return (
            self.state in ("setup", "side_switch", "hold", "paused")
            and step is not None
            and step.exercise.reps is not None
        )

    def _change_pace(self, name: str, now: float) -> list[Cue]:
        """ "Move slower than you think you need to": slower/faster change the paced phases
        (within the routine file's limits) as well as the voice."""
        # What is due at the old pace is said at the old pace (a late tick may even end the
        # hold and move on, to a step that is not paced).
        due = self._on_tick(now) if self.state == "hold" else []
        if not self._paced_step_now():
            return [*due, Cue(f"speech_{name}", adjust=_SPEECH[name])]
        step = self._steps[self._index]
        reps = step.exercise.reps
        assert reps is not None
        old = self._paces.get(step.exercise.id, 1.0)
        if name == "slower":
            new = min(reps.slowest, old + reps.pace_step)
        else:
            new = max(reps.fastest, old - reps.pace_step)
        at_limit = abs(new - old) < _EPS
        if not at_limit:
            running = self._seg_start is not None
            self._end_segment(now)  # time so far counts at the old pace
            self._paces[step.exercise.id] = new
            if running:
                self._seg_start = now
            self._emit("pace", now, {"scale": new})
        seconds = reps.phases[0].seconds * new
        key = f"pace_{name}_limit" if at_limit else f"pace_{name}"
        data: dict[str, object] = {"seconds": seconds}
        if at_limit and name == "faster" and reps.fastest >= 1.0 - _EPS:
            data["never"] = True  # never quicker than the file's own pace: said why
        return [*due, Cue(key, data, adjust=_SPEECH[name])]

    def _not_now(self, intent: str) -> list[Cue]:
        return [
            Cue(
                "not_now",
                {"intent": intent, "state": self.state, "allowed": self.allowed_intents()},
            )
        ]

    def _i_start_routine(self, intent: Intent, now: float) -> list[Cue]:
        spoken = intent.slots.get("routine")
        if self.state in ("idle", "summary"):
            if spoken is None:
                return [Cue("which_routine", {"routines": self._routine_names()})]
            routine = self._lib.find(str(spoken))
            if routine is None:
                return [
                    Cue("unknown_routine", {"name": str(spoken), "routines": self._routine_names()})
                ]
            return self._start_session(routine.id, now)
        if self.state == "stopped":  # "stop first" was already said: tell how to end or go on
            return [Cue("stopped_hint", {"window": self._deadline_left(now)})]
        running = self._lib.get(self._routine).name if self._routine else ""
        return [Cue("already_running", {"routine": running})]

    def _i_ready(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        if self._offering():
            return self._accept_offer(now)
        if state in ("setup", "side_switch"):
            return self._begin_hold(now)
        if state == "hold":
            return [Cue("already_holding", {"remaining": self._target - self._achieved(now)})]
        if state == "paused":
            if self._paused_from in ("setup", "side_switch"):
                # Paused while getting into position: "ready" means in position, so begin.
                self._emit("resumed", now)
                self._paused_from = None
                return self._begin_hold(now)
            return self._i_resume(intent, now)
        if state == "checkin_before":
            self._deadline = None
            return [Cue("checkin_skipped"), *self._enter_step(now, announce_switch=False)]
        if state == "checkin_after":
            return self._finish(now, completed=True)
        if state == "stopped":
            return [Cue("stopped_hint", {"window": self._deadline_left(now)})]
        if state == "idle" and self._resumable is not None:
            return [Cue("greeting_resume", self._resume_data())]
        if state == "summary":
            return [Cue("session_over", {"routines": self._routine_names()})]
        return [Cue("which_routine", {"routines": self._routine_names()})]

    def _i_repeat(self, intent: Intent, now: float) -> list[Cue]:
        if self.state == "paused":
            data = self._step_data(self._steps[self._index])
            return [Cue("repeat_paused", {**data, "remaining": self._target - self._done})]
        if self.state == "stopped":
            return [Cue("stopped_hint", {"window": self._deadline_left(now)})]
        if self._offering():
            return [self._offer_cue()]
        if self.state in ("setup", "side_switch"):
            return self._instructions(self._steps[self._index], why=False)
        if self.state == "hold":
            remaining = self._real(self._target - self._achieved(now))
            return [
                Cue(
                    "repeat_hold",
                    {**self._step_data(self._steps[self._index]), "remaining": remaining},
                )
            ]
        if not self._last:
            return self.greet(now) if self.state == "idle" else self._not_now("repeat")
        return list(self._last)

    def _i_skip(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        if state == "checkin_before":
            self._deadline = None
            return [Cue("checkin_skipped"), *self._enter_step(now, announce_switch=False)]
        if state == "checkin_after":
            return self._finish(now, completed=True)
        if self._offering():
            return self._decline(now)
        if self._held_enough(now):
            # "next" at 22 s of the source's "20 to 30 seconds" ends a hold that is done.
            self._paused_from = None
            achieved = self._achieved(now)
            hold = self._steps[self._index].exercise.hold
            assert hold is not None and hold.source_range is not None
            low, high = hold.source_range
            said = Cue(
                "done_in_range", {"achieved": achieved, "range_low": low, "range_high": high}
            )
            return [said, *self._complete_hold(now)]
        if state in ("setup", "side_switch", "hold", "paused"):
            if self._hold_began:
                self._close_span(now, "skip")
                self._hold_began = False
            self._paused_from = None
            self._emit("skipped", now, {"step": self._index})
            step = self._steps[self._index]
            nxt = self._steps[self._index + 1] if self._index + 1 < len(self._steps) else None
            if nxt is not None and nxt.exercise is step.exercise and step.side is not None:
                # The side switch says which side was skipped and which comes next.
                self._skipped_side = step.side
                return self._advance(now)
            return self._advance(now, Cue("skipped", {"exercise": step.exercise.name}))
        return self._not_now("skip")

    def _held_enough(self, now: float) -> bool:
        """Whether the hold under way (running, or paused in it) has reached the least of the
        range its source gives ("20 to 30 seconds"): ended now, it is done, not skipped."""
        step = self._step
        hold = step.exercise.hold if step is not None else None
        in_hold = self.state == "hold" or (self.state == "paused" and self._paused_from == "hold")
        return (
            in_hold
            and self._hold_began
            and hold is not None
            and hold.source_range is not None
            and self._achieved(now) >= hold.source_range[0] - _EPS
        )

    def _i_back(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        if state in ("setup", "side_switch", "hold", "paused", "checkin_after"):
            if self._hold_began:
                self._close_span(now, "back")
                self._hold_began = False
            # From a check-in, back to the last step; otherwise the previous step (step 0 restarts).
            target = len(self._steps) - 1 if state == "checkin_after" else max(0, self._index - 1)
            if state in ("setup", "side_switch") and self._index == 0:
                return [Cue("back_at_start"), *self._last]
            self._emit("back", now, {"from": self._index, "to": target})
            self._index = target
            self._deadline = None
            return [
                Cue("back", {"exercise": self._steps[target].exercise.name}),
                *self._enter_step(now, announce_switch=False),
            ]
        if state == "checkin_before":
            return [Cue("back_at_start"), *self._last]
        return self._not_now("back")

    def _i_extend(self, intent: Intent, now: float) -> list[Cue]:
        if self.state not in ("setup", "side_switch", "hold", "paused"):
            return self._not_now("extend")
        step = self._steps[self._index]
        ex = step.exercise
        said = intent.slots.get("seconds")
        if ex.reps is not None:
            rep_s = ex.reps.rep_seconds
            if isinstance(said, int) and said > 0:
                want = math.ceil(said / rep_s - _EPS) * rep_s
            else:
                want = ex.reps.extend_count * rep_s
        else:
            assert ex.hold is not None
            want = float(said) if isinstance(said, int) and said > 0 else ex.hold.extend_seconds
        room = max(0.0, ex.max_seconds - self._target)
        added = min(want, room)
        capped = added < want - _EPS
        if added <= _EPS:
            at_max: dict[str, object] = {"max": ex.max_seconds}
            if ex.reps is not None:
                at_max["max_reps"] = ex.reps.max_count
            return [Cue("extend_at_max", at_max)]
        self._target += added
        if self._seg_start is not None or self._done > 0:
            # Cues that the new length moves into the past are not said late.
            achieved = self._achieved(now)
            self._fired.update(k for k, t in self._milestones() if k != "end" and t <= achieved)
        self._emit("extended", now, {"seconds": round(added), "capped": capped})
        remaining = self._target - self._achieved(now)
        data: dict[str, object] = {
            "added": added,
            "remaining": remaining,
            "total": self._target,
            "max": ex.max_seconds,
        }
        if ex.reps is not None:  # paced: said in repetitions, not seconds
            data["reps"] = self._rep_total()
            data["reps_added"] = round(added / ex.reps.rep_seconds)
        return [Cue("extended_capped" if capped else "extended", data)]

    def _i_pause(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        if state in ("setup", "side_switch", "hold"):
            self._end_segment(now)
            self._paused_from = state
            self._deadline = None
            self._go("pause")
            self._emit("paused", now)
            return [
                Cue("paused", {"remaining": self._target - self._done, "in_hold": state == "hold"})
            ]
        if state == "paused":
            return [Cue("already_paused")]
        if state in ("checkin_before", "checkin_after"):
            return [Cue("checkin_no_pause")]
        return self._not_now("pause")

    def _i_resume(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        if state == "paused":
            self._emit("resumed", now)
            came_from, self._paused_from = self._paused_from, None
            if came_from == "hold":
                self._go("begin_hold")
                self._seg_start = now
                remaining = self._target - self._done
                cues = [Cue("resumed", {"remaining": remaining})]
                return cues + self._fire_milestones(now)
            self._go("begin_side_switch" if came_from == "side_switch" else "begin_setup")
            if self._wait_s is not None:
                self._nudged = False
                self._wait_s = self._settle_time(self._steps[self._index])
            self._deadline = None if self._wait_s is None else now + self._wait_s
            return [Cue("resumed_setup", {"duration": self._target}), *self._last]
        if state == "stopped":
            return self._resume_after_stop(now)
        if state == "idle":
            if self._resumable is None:
                return [Cue("nothing_to_resume", {"routines": self._routine_names()})]
            point = self._resumable
            try:
                self._lib.get(point.routine)
            except Exception:
                return [
                    Cue(
                        "unknown_routine",
                        {"name": point.routine, "routines": self._routine_names()},
                    )
                ]
            self._resumable = None
            return self._start_session(point.routine, now, point.step_index, resumed=point)
        if state == "hold":
            return [Cue("not_paused", {"remaining": self._target - self._achieved(now)})]
        if state == "summary":
            return [Cue("session_over", {"routines": self._routine_names()})]
        return [Cue("not_paused", {"remaining": None}), *self._last]

    def _deadline_left(self, now: float) -> float:
        return max(0.0, (self._deadline or now) - now)

    def _i_stop(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        if state in _IN_SESSION:
            came_from = self._paused_from if state == "paused" else state
            self._paused_from = None
            if self._hold_began:
                self._close_span(now, "stop")
            self._stopped_from = came_from
            # A setup without a settle timer waits for "ready" alone (after pain): so it stays.
            self._stopped_for_ready = came_from in ("setup", "side_switch") and self._wait_s is None
            self._go("stop")
            self._emit("stopped", now, {"from": came_from})
            self._deadline = now + self._stop_window_s
            self._wait_s = None
            # In a hold (or paused in one), the person is in the position: come out slowly.
            in_hold = came_from == "hold"
            return [Cue("stopped", {"window": self._stop_window_s, "in_hold": in_hold})]
        if state == "stopped":
            return self._finish_stopped(now)
        if state == "summary":
            return [Cue("session_over", {"routines": self._routine_names()})]
        return [Cue("nothing_to_stop", {"routines": self._routine_names()})]

    def _finish_stopped(self, now: float) -> list[Cue]:
        """End a stopped session. Stopped at the last check-in, every exercise was done: only
        the stiffness question was declined, so the routine still counts as completed."""
        return self._finish(now, completed=self._stopped_from == "checkin_after")

    def _resume_after_stop(self, now: float) -> list[Cue]:
        came_from, self._stopped_from = self._stopped_from, None
        self._emit("resumed_after_stop", now, {"to": came_from})
        self._deadline = None
        cues = [Cue("resumed_after_stop")]
        if came_from == "hold":
            return cues + self._begin_hold(now)
        if came_from == "checkin_before":
            self._go("back_to_checkin")
            self._wait_s = self._checkin_wait_s
            self._deadline = now + self._checkin_wait_s
            return [*cues, Cue("checkin_before")]
        if came_from == "checkin_after":
            self._go("begin_checkin_after")
            self._wait_s = self._checkin_wait_s
            self._deadline = now + self._checkin_wait_s
            return [*cues, Cue("checkin_after")]
        target = self._target  # time added during the setup stays added (and counted)
        cues += self._enter_step(now, announce_switch=came_from == "side_switch")
        self._target = target
        if self._stopped_for_ready:  # after pain, "resume" is not "ready": no hold on its own
            self._wait_s = None
            self._deadline = None
        return cues

    def _i_time_left(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        if state == "hold":
            data: dict[str, object] = {"remaining": self._real(self._target - self._achieved(now))}
            if self._steps[self._index].exercise.reps is not None:
                rep_s = self._steps[self._index].exercise.reps.rep_seconds  # type: ignore[union-attr]
                data["reps_left"] = max(
                    0, math.ceil((self._target - self._achieved(now)) / rep_s - _EPS)
                )
            return [Cue("time_left", data)]
        if state == "paused":
            return [Cue("time_left_paused", {"remaining": self._target - self._done})]
        if state in ("setup", "side_switch"):
            return [Cue("time_left_setup", {"duration": self._target - self._done})]
        if state == "stopped":
            return [Cue("stopped_hint", {"window": self._deadline_left(now)})]
        if state in ("checkin_before", "checkin_after"):
            return [Cue("time_left_checkin"), *self._last]
        return [Cue("time_left_idle", {"routines": self._routine_names()})]

    def _i_help(self, intent: Intent, now: float) -> list[Cue]:
        if self._last_intent == "help":
            info = self._info()
            if info:
                return [Cue("help_more", {"info": info})]
        allowed = self.allowed_intents()
        data: dict[str, object] = {
            "allowed": allowed,
            "state": self.state,
            "more": bool(self._info()),
            "paced": self._paced_step_now(),
        }
        if "start_routine" in allowed:  # "start and a routine" is no help without their names
            data["routines"] = self._routine_names()
        return [Cue("help", data)]

    def _info(self) -> str | None:
        """What is said when help is asked for twice: about the exercise, then the routine."""
        parts: list[str] = []
        step = self._step if self.state not in ("idle",) else None
        if step is not None:
            parts.append(step.exercise.why)
            if step.exercise.info:
                parts.append(step.exercise.info)
            try:
                part_info = self._lib.get(step.part).info
            except Exception:
                part_info = None
            if part_info:
                parts.append(part_info)
        else:
            infos = [r.info for r in self._lib.routines() if r.info]
            parts.extend(infos)
        return " ".join(parts) or None

    def _i_pain(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        # The hip source's word on where pain points, and the coach's own advice to see a
        # health professional if it persists: said once a session, on the first pain.
        guidance = [] if self._pain_said else [Cue("pain_guidance")]
        self._pain_said = True
        step = self._step
        if step is not None and state in ("setup", "side_switch", "hold", "paused"):
            self._pain_sides.setdefault(step.exercise.id, set()).add(step.side)
            # Pain in an optional exercise makes it a choice again: "skip" leaves it out.
            self._accepted.discard(step.exercise.id)
        if self._offering():
            # Pain while being asked about going deeper: not now.
            self._emit("pain", now, {"during": state, "ended_hold": False})
            return [Cue("pain", {"ended_hold": False}), *guidance, *self._decline(now)]
        if state in ("setup", "side_switch", "hold", "paused"):
            was_holding = self._hold_began
            if was_holding:
                self._close_span(now, "pain")
                self._hold_began = False
            self._paused_from = None
            self._emit("pain", now, {"during": state, "ended_hold": was_holding})
            times = self._pain_on_step.get(self._index, 0) + 1
            self._pain_on_step[self._index] = times
            # Back to this step's setup, without the settle timer: only "ready" or "skip" go on.
            step = self._steps[self._index]
            self._go("begin_setup")
            self._target = max(step.exercise.target_seconds, self._target)
            self._done = 0.0
            self._span = 0.0
            self._span_nominal = 0.0
            self._fired = set()
            self._deadline = None
            self._wait_s = None
            data = {"exercise": step.exercise.name, "ended_hold": was_holding, "again": times > 1}
            cues = [Cue("pain", data), *guidance, Cue("pain_options", data)]
            # "repeat" gives the step's instructions again, not the pain line.
            self._last = self._instructions(step, why=False)
            return cues
        if state in _IN_SESSION or state == "stopped":
            self._emit("pain", now, {"during": state, "ended_hold": False})
        return [Cue("pain_general"), *guidance]

    def _i_rating(self, intent: Intent, now: float) -> list[Cue]:
        value = intent.slots.get("value")
        state = self.state
        if state not in ("checkin_before", "checkin_after"):
            if self._checkins and state in ("setup", "side_switch", "hold", "paused"):
                return [Cue("rating_not_asked")]  # "I'll ask at the end": true only here
            return self._not_now("rating")
        if not isinstance(value, int) or not 0 <= value <= 10:
            return [Cue("rating_unclear"), *self._last]
        phase = "before" if state == "checkin_before" else "after"
        self._emit("rating", now, {"phase": phase, "value": value})
        cues = [Cue("rating_thanks", {"value": value, "phase": phase})]
        if phase == "before":
            self._deadline = None
            return cues + self._enter_step(now, announce_switch=False)
        return cues + self._finish(now, completed=True)
