"""What is said during a hold, and when: pace words, "last one", halfway, the countdown and
calm reminders, as (key, achieved seconds) points and the cues for them."""

from __future__ import annotations

from voicecoach.messages import Cue
from voicecoach.routines import Exercise
from voicecoach.session.hold import EPS


def milestones(ex: Exercise, target: float) -> list[tuple[str, float]]:
    """(key, achieved seconds) points of a hold of `target` seconds, the end included."""
    out: list[tuple[str, float]] = [("end", target)]
    if ex.reps is not None:
        t = 0.0
        k = 0
        while t < target - EPS:
            for p, phase in enumerate(ex.reps.phases):
                if t >= target - EPS:
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
        while n * hold.reminder_every < target - EPS:
            t = n * hold.reminder_every
            if all(abs(t - q) >= min(8.0, hold.reminder_every / 2) for q in quiet):
                out.append((f"reminder:{n}", t))
            n += 1
    return out


class Reminders:
    """Reminders said so far per exercise id: wordings take turns across sides and attempts, so
    a routine's later reminders are heard instead of the first one at every hold."""

    def __init__(self) -> None:
        self._said: dict[str, int] = {}

    def next(self, ex: Exercise) -> str:
        assert ex.hold is not None
        said = self._said.get(ex.id, 0)
        self._said[ex.id] = said + 1
        return ex.hold.reminders[said % len(ex.hold.reminders)]


def milestone_cue(
    key: str, at: float, ex: Exercise, target: float, next_name: str | None, reminders: Reminders
) -> Cue | None:
    """The cue for milestone `key` of a hold of `target` seconds, reached at `at`."""
    if key.startswith("phase:"):
        _, k, p = key.split(":")
        assert ex.reps is not None
        phase = ex.reps.phases[int(p)]
        rep = int(k)
        # The first repetition gets the full wording; later ones cycle through shorter ones.
        pick = 0 if rep == 0 or len(phase.say) == 1 else 1 + (rep - 1) % (len(phase.say) - 1)
        words = phase.say[pick]
        return Cue("pace", {"words": words, "rep": int(k) + 1, "of": ex.reps.reps_for(target)})
    if key.startswith("lastrep:"):
        return Cue("last_rep", {"next": next_name})
    if key.startswith("countdown:"):
        assert ex.hold is not None
        data: dict[str, object] = {"seconds": ex.hold.countdown}
        if next_name is not None:
            data["next"] = next_name
        return Cue("countdown", data)
    if key == "halfway":
        return Cue("halfway", {"remaining": target - at})
    if key.startswith("reminder:"):
        return Cue("reminder", {"text": reminders.next(ex)})
    return None
