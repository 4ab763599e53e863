"""The session's answers to what interrupts a step: pause, resume, stop and pain. Each freezes
or ends the hold clock and says how to go on."""

from __future__ import annotations

from voicecoach.messages import Cue, Intent
from voicecoach.session import words
from voicecoach.session.moves import Moves
from voicecoach.session.states import IN_SESSION, allowed_intents


class Interruptions(Moves):
    """Pause, resume, stop and pain (see `Session`)."""

    def allowed_intents(self) -> list[str]:
        """What makes sense to say now (every intent still gets an answer)."""
        return allowed_intents(self.state, can_resume=self._resumable is not None)

    def _not_now(self, intent: str) -> list[Cue]:
        return [
            Cue(
                "not_now",
                {"intent": intent, "state": self.state, "allowed": self.allowed_intents()},
            )
        ]

    def _i_pause(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        if state in ("setup", "side_switch", "hold"):
            self._clock.end_segment(now)
            self._paused_from = state
            self._wait.deadline = None
            self._go("pause")
            self._emit("paused", now)
            remaining = self._clock.target - self._clock.done
            return [Cue("paused", {"remaining": remaining, "in_hold": state == "hold"})]
        if state == "paused":
            return [Cue("already_paused")]
        if state in ("checkin_before", "checkin_after"):
            return [Cue("checkin_no_pause")]
        return self._not_now("pause")

    def _i_resume(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        clock = self._clock
        if state == "paused":
            self._emit("resumed", now)
            came_from, self._paused_from = self._paused_from, None
            if came_from == "hold":
                self._go("begin_hold")
                clock.seg_start = now
                cues = [Cue("resumed", {"remaining": clock.target - clock.done})]
                return cues + self._fire_milestones(now)
            self._go("begin_side_switch" if came_from == "side_switch" else "begin_setup")
            if self._wait.length is not None:
                self._wait.nudged = False
                self._wait.length = self._plan.settle_time(self._plan.current, self._settle_s)
            self._wait.deadline = None if self._wait.length is None else now + self._wait.length
            return [Cue("resumed_setup", {"duration": clock.target}), *self._last]
        if state == "stopped":
            return self._resume_after_stop(now)
        if state == "idle":
            names = words.routine_names(self._lib)
            if self._resumable is None:
                return [Cue("nothing_to_resume", {"routines": names})]
            point = self._resumable
            try:
                self._lib.get(point.routine)
            except Exception:
                return [Cue("unknown_routine", {"name": point.routine, "routines": names})]
            self._resumable = None
            return self._start_session(point.routine, now, point.step_index, resumed=point)
        if state == "hold":
            return [Cue("not_paused", {"remaining": clock.target - clock.achieved(now)})]
        if state == "summary":
            return [Cue("session_over", {"routines": words.routine_names(self._lib)})]
        return [Cue("not_paused", {"remaining": None}), *self._last]

    def _i_stop(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        if state in IN_SESSION:
            came_from = self._paused_from if state == "paused" else state
            self._paused_from = None
            if self._clock.began:
                self._close_span(now, "stop")
            self._stopped_from = came_from
            # A setup without a settle timer waits for "ready" alone (after pain): so it stays.
            self._stopped_for_ready = (
                came_from in ("setup", "side_switch") and self._wait.length is None
            )
            self._go("stop")
            self._emit("stopped", now, {"from": came_from})
            self._wait.deadline = now + self._stop_window_s
            self._wait.length = None
            # In a hold (or paused in one), the person is in the position: come out slowly.
            in_hold = came_from == "hold"
            return [Cue("stopped", {"window": self._stop_window_s, "in_hold": in_hold})]
        if state == "stopped":
            return self._finish_stopped(now)
        if state == "summary":
            return [Cue("session_over", {"routines": words.routine_names(self._lib)})]
        return [Cue("nothing_to_stop", {"routines": words.routine_names(self._lib)})]

    def _finish_stopped(self, now: float) -> list[Cue]:
        """End a stopped session. Stopped at the last check-in, every exercise was done: only
        the stiffness question was declined, so the routine still counts as completed."""
        return self._finish(now, completed=self._stopped_from == "checkin_after")

    def _resume_after_stop(self, now: float) -> list[Cue]:
        came_from, self._stopped_from = self._stopped_from, None
        self._emit("resumed_after_stop", now, {"to": came_from})
        self._wait.deadline = None
        cues = [Cue("resumed_after_stop")]
        if came_from == "hold":
            return cues + self._begin_hold(now)
        if came_from == "checkin_before":
            self._go("back_to_checkin")
            self._wait.start(now, self._checkin_wait_s)
            return [*cues, Cue("checkin_before")]
        if came_from == "checkin_after":
            self._go("begin_checkin_after")
            self._wait.start(now, self._checkin_wait_s)
            return [*cues, Cue("checkin_after")]
        target = self._clock.target  # time added during the setup stays added (and counted)
        cues += self._enter_step(now, announce_switch=came_from == "side_switch")
        self._clock.target = target
        if self._stopped_for_ready:  # after pain, "resume" is not "ready": no hold on its own
            self._wait.clear()
        return cues

    def _i_pain(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        plan = self._plan
        # The hip source's word on where pain points, and the coach's own advice to see a
        # health professional if it persists: said once a session, on the first pain.
        guidance = [] if self._pain_said else [Cue("pain_guidance")]
        self._pain_said = True
        step = plan.step
        if step is not None and state in ("setup", "side_switch", "hold", "paused"):
            plan.pain_sides.setdefault(step.exercise.id, set()).add(step.side)
            # Pain in an optional exercise makes it a choice again: "skip" leaves it out.
            plan.accepted.discard(step.exercise.id)
        if self._offering():
            # Pain while being asked about going deeper: not now.
            self._emit("pain", now, {"during": state, "ended_hold": False})
            return [Cue("pain", {"ended_hold": False}), *guidance, *self._decline(now)]
        if state in ("setup", "side_switch", "hold", "paused"):
            clock = self._clock
            was_holding = clock.began
            if was_holding:
                self._close_span(now, "pain")
                clock.began = False
            self._paused_from = None
            self._emit("pain", now, {"during": state, "ended_hold": was_holding})
            times = plan.pain_on_step.get(plan.index, 0) + 1
            plan.pain_on_step[plan.index] = times
            # Back to this step's setup, without the settle timer: only "ready" or "skip" go on.
            step = plan.current
            self._go("begin_setup")
            clock.target = max(step.exercise.target_seconds, clock.target)
            clock.done = 0.0
            clock.span = 0.0
            clock.span_nominal = 0.0
            clock.fired = set()
            self._wait.clear()
            data = {"exercise": step.exercise.name, "ended_hold": was_holding, "again": times > 1}
            cues = [Cue("pain", data), *guidance, Cue("pain_options", data)]
            # "repeat" gives the step's instructions again, not the pain line.
            self._last = words.instructions(step, clock.target, why=False)
            return cues
        if state in IN_SESSION or state == "stopped":
            self._emit("pain", now, {"during": state, "ended_hold": False})
        return [Cue("pain_general"), *guidance]
