"""The session's moves between steps: starting a routine, entering a step's setup, starting and
completing a hold, offering or leaving out an optional exercise, and finishing. Every trigger
of the state machine is fired from here or from the answers built on it."""

from __future__ import annotations

from voicecoach.messages import Cue, Progress, ResumePoint
from voicecoach.routines import RoutineLibrary
from voicecoach.session import words
from voicecoach.session.hold import HoldClock
from voicecoach.session.milestones import Reminders, milestone_cue, milestones
from voicecoach.session.plan import StepPlan
from voicecoach.session.record import Recorder
from voicecoach.session.states import Flow
from voicecoach.session.voice import Paces
from voicecoach.session.wait import Wait
from voicecoach.summary import SessionSummary, summarize


class Moves:
    """The parts of a session and the moves between its steps (see `Session`)."""

    _lib: RoutineLibrary
    _settle_s: float
    _checkins: bool
    _progress: Progress | None
    _resumable: ResumePoint | None
    _stop_window_s: float
    _checkin_wait_s: float
    _nudge_grace_s: float
    _flow: Flow
    _rec: Recorder
    summary: SessionSummary | None

    def _reset_run(self) -> None:
        self._plan = StepPlan()
        self._paces = Paces()
        self._clock = HoldClock(scale=self._scale)
        self._reminders = Reminders()
        self._wait = Wait()
        self._paused_from: str | None = None
        self._stopped_from: str | None = None
        self._last: list[Cue] = []
        self._last_intent: str | None = None
        self._now = 0.0
        self._pain_said = False  # the pain guidance is said on the first pain of a session
        self._stopped_for_ready = False  # stopped in a setup that waited for "ready" alone
        self._confirming: str | None = None  # a routine id the coach has asked back about

    @property
    def state(self) -> str:
        return self._flow.state

    def _go(self, trigger: str) -> None:
        self._flow.trigger(trigger)

    def _emit(self, kind: str, at: float, data: dict[str, object] | None = None) -> None:
        step = self._plan.step if self.state != "idle" else None
        self._rec.emit(kind, at, self._plan.routine, step, data or {})

    def _scale(self) -> float:
        """Real seconds per second of the step's own timing: paced phases said "slower" last
        longer; everything is counted in the routine file's seconds and scaled here."""
        step = self._plan.step
        if step is None or step.exercise.reps is None:
            return 1.0
        return self._paces.scale(step.exercise.id)

    def _milestones(self) -> list[tuple[str, float]]:
        """(key, achieved seconds) points of the running hold, the end included."""
        return milestones(self._plan.current.exercise, self._clock.target)

    def _start_session(
        self, routine_id: str, now: float, start_index: int = 0, resumed: ResumePoint | None = None
    ) -> list[Cue]:
        if self.state == "summary":
            self._rec.events = []
            self.summary = None
        self._reset_run()
        self._now = now
        plan = self._plan
        plan.routine = routine_id
        plan.steps = self._lib.steps(routine_id)
        plan.index = max(0, min(start_index, len(plan.steps) - 1))
        data: dict[str, object] = {"steps": len(plan.steps), "start_step": plan.index}
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
                    "steps": len(plan.steps),
                    "duration": self._lib.total_seconds(routine_id),
                    "exercise": plan.current.exercise.name,
                },
            )
        ]
        if self._checkins and resumed is None:
            self._go("begin_checkin")
            self._wait.start(now, self._checkin_wait_s)
            ask = [Cue("checkin_before")]
            self._last = ask
            return cues + ask
        return cues + self._enter_step(now, announce_switch=False)

    def _enter_step(self, now: float, *, announce_switch: bool = True) -> list[Cue]:
        """Go to the setup (or side switch) of the current step and say how to get ready; for
        an optional exercise, ask first."""
        plan = self._plan
        step = plan.current
        ex = step.exercise
        if ex.optional is not None:
            left_out = self._leave_out_after_pain(now)
            if left_out is not None:
                return left_out
        self._clock.reset(ex.target_seconds)
        self._wait.nudged = False
        self._wait.length = plan.settle_time(step, self._settle_s)
        skipped_side, plan.skipped_side = plan.skipped_side, None
        if ex.optional is not None and ex.id not in plan.accepted:
            return self._offer(now)
        if announce_switch and not step.first_side and plan.index > 0:
            prev = plan.steps[plan.index - 1]
            if prev.exercise.id == ex.id:
                self._go("begin_side_switch")
                self._emit("step_started", now, {"step": plan.index})
                data = words.step_data(step, self._clock.target)
                if skipped_side is not None:
                    data["skipped_side"] = skipped_side
                cues = [Cue("side_switch", data)]
                self._wait.restart(now)
                self._last = cues
                return cues
        self._go("begin_setup")
        self._emit("step_started", now, {"step": plan.index})
        cues = words.instructions(step, self._clock.target, why=step.first_side)
        self._wait.restart(now)
        self._last = cues
        return cues

    def _begin_hold(self, now: float) -> list[Cue]:
        step = self._plan.current
        clock = self._clock
        self._go("begin_hold")
        self._wait.clear()
        first = clock.start(now)
        self._emit("hold_started", now, {"target_s": clock.target, "continued": not first})
        cues = [words.hold_start(step, clock.target, clock.target - clock.done, first=first)]
        cues += self._fire_milestones(now)
        self._last = cues
        return cues

    def _close_span(self, now: float, ended: str) -> None:
        """Record what was held since the last hold_started, and why it ended (done, pain,
        stop, skip, back)."""
        span, nominal = self._clock.close_span(now)
        reps = self._plan.current.exercise.reps
        data: dict[str, object] = {"achieved_s": span, "ended": ended}
        if reps is not None:
            data["reps"] = reps.reps_for(nominal)
        self._emit("hold_ended", now, data)

    def _fire_milestones(self, now: float) -> list[Cue]:
        """Say what is due in the running hold; at its end, move on."""
        if not self._clock.running:
            return []
        due = self._clock.take_due(now, self._milestones())
        if due.ended_at is not None:
            return self._complete_hold(due.ended_at)
        ex = self._plan.current.exercise
        cues: list[Cue] = []
        for t, key in due.said:
            next_name = self._plan.next_exercise_name()
            cue = milestone_cue(key, t, ex, self._clock.target, next_name, self._reminders)
            if cue is not None:
                cues.append(cue)
        return cues

    def _complete_hold(self, end_at: float) -> list[Cue]:
        self._close_span(end_at, "done")
        self._clock.began = False
        step = self._plan.current
        # Moving to the other side has its own words for coming out of the position; so has a
        # next exercise in the same position (constructive rest, then the slide).
        following = self._plan.following
        nxt = following.exercise if following is not None else None
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
        if self._plan.at_last:
            return cues + self._routine_done(now)
        self._plan.index += 1
        return cues + self._enter_step(now)

    def _routine_done(self, now: float) -> list[Cue]:
        self._plan.index = len(self._plan.steps) - 1
        if self._checkins:
            self._go("begin_checkin_after")
            self._wait.start(now, self._checkin_wait_s)
            cues = [Cue("routine_done"), Cue("checkin_after")]
            self._last = cues[1:]
            return cues
        return [Cue("routine_done"), *self._finish(now, completed=True)]

    def _finish(self, now: float, *, completed: bool) -> list[Cue]:
        self._wait.clear()
        held_any = self._rec.held_any()
        # A session whose every step was skipped is not a completed one (not today's count or
        # the streak), though it ran to its end.
        all_skipped = completed and not held_any
        completed = completed and held_any
        counts_for = self._rec.advised_part(self._plan.steps, self._lib)
        finished: dict[str, object] = {"completed": completed}
        if all_skipped:
            finished["all_skipped"] = True
        if counts_for is not None:
            finished["counts_for"] = counts_for
        self._emit("finished", now, finished)
        self._go("finish")
        self.summary = summarize(self._rec.events, self._progress)
        data = words.summary_data(self._lib, self._plan.routine, self.summary, counts_for)
        cues = [Cue("summary", data)]
        self._last = cues
        return cues

    # --- optional exercises ------------------------------------------------------------------

    def _offering(self) -> bool:
        """Asking whether to do an optional exercise (not yet said ready to, not begun)."""
        step = self._plan.step
        return (
            self.state == "setup"
            and step is not None
            and step.exercise.optional is not None
            and step.exercise.id not in self._plan.accepted
            and not self._clock.began
        )

    def _offer(self, now: float) -> list[Cue]:
        """Ask whether to do an optional exercise, before any of its instructions: the source
        makes it optional ("if that is feeling easy"), so the person hears that it is a choice
        before being told how to get into it."""
        self._go("begin_setup")
        self._emit("step_started", now, {"step": self._plan.index})
        self._wait.restart(now)
        cues = [words.offer(self._plan.current)]
        self._last = cues
        return cues

    def _accept_offer(self, now: float) -> list[Cue]:
        """ "ready" to an optional exercise: now its instructions, then "say ready" again."""
        step = self._plan.current
        self._plan.accepted.add(step.exercise.id)
        self._wait.nudged = False
        self._wait.start(now, self._plan.settle_time(step, self._settle_s))
        cues = words.instructions(step, self._clock.target, why=False)
        self._last = cues
        return cues

    def _leave_out_after_pain(self, now: float) -> list[Cue] | None:
        """An optional exercise is not offered, nor done, on a side where pain was said in the
        exercise it deepens: going deeper where it hurt is what "don't push into pain" rules
        out. Says so in one sentence and goes on; None when the current side is fine."""
        plan = self._plan
        ex = plan.current.exercise
        end = plan.hurt_sides_ahead()
        if end == plan.index:
            return None
        base = plan.base_exercise(plan.current)
        assert base is not None
        sides = [plan.steps[k].side for k in range(plan.index, end)]
        self._emit("declined", now, {"step": plan.index, "reason": "pain", "sides": sides})
        every = end >= len(plan.steps) or plan.steps[end].exercise is not ex
        data: dict[str, object] = {
            "exercise": ex.name,
            "base": plan.exercise_name(base),
            "side": sides[0] or "",
            "both": len(sides) > 1,
            "every": every,
        }
        # Left out right after its other side was held: nothing else says to come out of it.
        ease_out = plan.index > 0 and plan.steps[plan.index - 1].exercise is ex
        plan.index = end - 1
        cues = [Cue("hold_done", {"last_side": True})] if ease_out else []
        return cues + self._advance(now, Cue("declined_after_pain", data))

    def _settle_over(self, now: float) -> list[Cue]:
        """Nothing heard in the settle time. "Say ready" means it, and the coach stays
        hands-free: say once that it goes on by itself in a few seconds unless they say wait;
        then go on. An optional exercise is not started unasked: it is left out instead."""
        if not self._wait.nudged:
            self._wait.nudged = True
            self._wait.start(now, self._nudge_grace_s)
            key = "offer_nudge" if self._offering() else "ready_nudge"
            name = self._plan.current.exercise.name
            return [Cue(key, {"exercise": name, "seconds": self._nudge_grace_s})]
        if self._offering():
            return self._decline(now)
        return self._begin_hold(now)

    def _decline(self, now: float) -> list[Cue]:
        """Leave out an optional exercise (all its sides): not a skipped step."""
        ex = self._plan.current.exercise
        self._emit("declined", now, {"step": self._plan.index})
        self._plan.index = self._plan.last_side_index()
        return self._advance(now, Cue("declined", {"exercise": ex.name}))
