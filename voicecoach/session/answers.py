"""The session's answers to the commands that move through a routine: start, ready, repeat,
skip, back, extend, how long left, help and a stiffness rating."""

from __future__ import annotations

import math

from voicecoach.messages import Cue, Intent
from voicecoach.session import words
from voicecoach.session.hold import EPS
from voicecoach.session.interruptions import Interruptions


class Answers(Interruptions):
    """One `_i_<intent>` method per command (see `Session`)."""

    def _paced_step_now(self) -> bool:
        step = self._plan.step
        return (
            self.state in ("setup", "side_switch", "hold", "paused")
            and step is not None
            and step.exercise.reps is not None
        )

    def _i_start_routine(self, intent: Intent, now: float) -> list[Cue]:
        spoken = intent.slots.get("routine")
        if self.state in ("idle", "summary"):
            names = words.routine_names(self._lib)
            if spoken is None:
                return [Cue("which_routine", {"routines": names})]
            routine = self._lib.find(str(spoken))
            if routine is None:
                return [Cue("unknown_routine", {"name": str(spoken), "routines": names})]
            return self._start_session(routine.id, now)
        if self.state == "stopped":  # "stop first" was already said: tell how to end or go on
            return [Cue("stopped_hint", {"window": self._wait.left(now)})]
        running = self._lib.get(self._plan.routine).name if self._plan.routine else ""
        return [Cue("already_running", {"routine": running})]

    def _i_ready(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        if self._offering():
            return self._accept_offer(now)
        if state in ("setup", "side_switch"):
            return self._begin_hold(now)
        if state == "hold":
            remaining = self._clock.target - self._clock.achieved(now)
            return [Cue("already_holding", {"remaining": remaining})]
        if state == "paused":
            if self._paused_from in ("setup", "side_switch"):
                # Paused while getting into position: "ready" means in position, so begin.
                self._emit("resumed", now)
                self._paused_from = None
                return self._begin_hold(now)
            return self._i_resume(intent, now)
        if state == "checkin_before":
            self._wait.deadline = None
            return [Cue("checkin_skipped"), *self._enter_step(now, announce_switch=False)]
        if state == "checkin_after":
            return self._finish(now, completed=True)
        if state == "stopped":
            return [Cue("stopped_hint", {"window": self._wait.left(now)})]
        if state == "idle" and self._resumable is not None:
            return [Cue("greeting_resume", words.resume_data(self._lib, self._resumable))]
        if state == "summary":
            return [Cue("session_over", {"routines": words.routine_names(self._lib)})]
        return [Cue("which_routine", {"routines": words.routine_names(self._lib)})]

    def _i_repeat(self, intent: Intent, now: float) -> list[Cue]:
        clock = self._clock
        if self.state == "paused":
            data = words.step_data(self._plan.current, clock.target)
            return [Cue("repeat_paused", {**data, "remaining": clock.target - clock.done})]
        if self.state == "stopped":
            return [Cue("stopped_hint", {"window": self._wait.left(now)})]
        if self._offering():
            return [words.offer(self._plan.current)]
        if self.state in ("setup", "side_switch"):
            return words.instructions(self._plan.current, clock.target, why=False)
        if self.state == "hold":
            remaining = clock.real(clock.target - clock.achieved(now))
            data = words.step_data(self._plan.current, clock.target)
            return [Cue("repeat_hold", {**data, "remaining": remaining})]
        if not self._last:
            return self.greet(now) if self.state == "idle" else self._not_now("repeat")
        return list(self._last)

    def greet(self, now: float) -> list[Cue]:
        """The idle greeting; mentions where the last session stopped, if known."""
        self._now = now
        cues = [Cue("greeting", {"routines": words.routine_names(self._lib)})]
        if self._resumable is not None:
            cues.append(Cue("greeting_resume", words.resume_data(self._lib, self._resumable)))
        self._last = cues
        return cues

    def _i_skip(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        plan = self._plan
        if state == "checkin_before":
            self._wait.deadline = None
            return [Cue("checkin_skipped"), *self._enter_step(now, announce_switch=False)]
        if state == "checkin_after":
            return self._finish(now, completed=True)
        if self._offering():
            return self._decline(now)
        if self._held_enough(now):
            # "next" at 22 s of the source's "20 to 30 seconds" ends a hold that is done.
            self._paused_from = None
            achieved = self._clock.achieved(now)
            hold = plan.current.exercise.hold
            assert hold is not None and hold.source_range is not None
            low, high = hold.source_range
            said = Cue(
                "done_in_range", {"achieved": achieved, "range_low": low, "range_high": high}
            )
            return [said, *self._complete_hold(now)]
        if state in ("setup", "side_switch", "hold", "paused"):
            if self._clock.began:
                self._close_span(now, "skip")
                self._clock.began = False
            self._paused_from = None
            self._emit("skipped", now, {"step": plan.index})
            step = plan.current
            nxt = plan.following
            if nxt is not None and nxt.exercise is step.exercise and step.side is not None:
                # The side switch says which side was skipped and which comes next.
                plan.skipped_side = step.side
                return self._advance(now)
            return self._advance(now, Cue("skipped", {"exercise": step.exercise.name}))
        return self._not_now("skip")

    def _held_enough(self, now: float) -> bool:
        """Whether the hold under way (running, or paused in it) has reached the least of the
        range its source gives ("20 to 30 seconds"): ended now, it is done, not skipped."""
        step = self._plan.step
        hold = step.exercise.hold if step is not None else None
        in_hold = self.state == "hold" or (self.state == "paused" and self._paused_from == "hold")
        return (
            in_hold
            and self._clock.began
            and hold is not None
            and hold.source_range is not None
            and self._clock.achieved(now) >= hold.source_range[0] - EPS
        )

    def _i_back(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        plan = self._plan
        if state in ("setup", "side_switch", "hold", "paused", "checkin_after"):
            if self._clock.began:
                self._close_span(now, "back")
                self._clock.began = False
            # From a check-in, back to the last step; otherwise the previous step (step 0 restarts).
            target = len(plan.steps) - 1 if state == "checkin_after" else max(0, plan.index - 1)
            if state in ("setup", "side_switch") and plan.index == 0:
                return [Cue("back_at_start"), *self._last]
            self._emit("back", now, {"from": plan.index, "to": target})
            plan.index = target
            self._wait.deadline = None
            return [
                Cue("back", {"exercise": plan.steps[target].exercise.name}),
                *self._enter_step(now, announce_switch=False),
            ]
        if state == "checkin_before":
            return [Cue("back_at_start"), *self._last]
        return self._not_now("back")

    def _i_extend(self, intent: Intent, now: float) -> list[Cue]:
        if self.state not in ("setup", "side_switch", "hold", "paused"):
            return self._not_now("extend")
        clock = self._clock
        ex = self._plan.current.exercise
        said = intent.slots.get("seconds")
        if ex.reps is not None:
            rep_s = ex.reps.rep_seconds
            if isinstance(said, int) and said > 0:
                want = math.ceil(said / rep_s - EPS) * rep_s
            else:
                want = ex.reps.extend_count * rep_s
        else:
            assert ex.hold is not None
            want = float(said) if isinstance(said, int) and said > 0 else ex.hold.extend_seconds
        room = max(0.0, ex.max_seconds - clock.target)
        added = min(want, room)
        capped = added < want - EPS
        if added <= EPS:
            at_max: dict[str, object] = {"max": ex.max_seconds}
            if ex.reps is not None:
                at_max["max_reps"] = ex.reps.max_count
            return [Cue("extend_at_max", at_max)]
        clock.target += added
        clock.pass_over(now, self._milestones())
        self._emit("extended", now, {"seconds": round(added), "capped": capped})
        data: dict[str, object] = {
            "added": added,
            "remaining": clock.target - clock.achieved(now),
            "total": clock.target,
            "max": ex.max_seconds,
        }
        if ex.reps is not None:  # paced: said in repetitions, not seconds
            data["reps"] = ex.reps.reps_for(clock.target)
            data["reps_added"] = round(added / ex.reps.rep_seconds)
        return [Cue("extended_capped" if capped else "extended", data)]

    def _i_time_left(self, intent: Intent, now: float) -> list[Cue]:
        state = self.state
        clock = self._clock
        if state == "hold":
            left = clock.target - clock.achieved(now)
            data: dict[str, object] = {"remaining": clock.real(left)}
            reps = self._plan.current.exercise.reps
            if reps is not None:
                data["reps_left"] = max(0, math.ceil(left / reps.rep_seconds - EPS))
            return [Cue("time_left", data)]
        if state == "paused":
            return [Cue("time_left_paused", {"remaining": clock.target - clock.done})]
        if state in ("setup", "side_switch"):
            return [Cue("time_left_setup", {"duration": clock.target - clock.done})]
        if state == "stopped":
            return [Cue("stopped_hint", {"window": self._wait.left(now)})]
        if state in ("checkin_before", "checkin_after"):
            return [Cue("time_left_checkin"), *self._last]
        return [Cue("time_left_idle", {"routines": words.routine_names(self._lib)})]

    def _i_help(self, intent: Intent, now: float) -> list[Cue]:
        step = self._plan.step if self.state != "idle" else None
        info = words.info(self._lib, step)
        if self._last_intent == "help" and info:
            return [Cue("help_more", {"info": info})]
        allowed = self.allowed_intents()
        data: dict[str, object] = {
            "allowed": allowed,
            "state": self.state,
            "more": bool(info),
            "paced": self._paced_step_now(),
        }
        if "start_routine" in allowed:  # "start and a routine" is no help without their names
            data["routines"] = words.routine_names(self._lib)
        return [Cue("help", data)]

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
            self._wait.deadline = None
            return cues + self._enter_step(now, announce_switch=False)
        return cues + self._finish(now, completed=True)
