"""The data the coach's prompts get about a step, a routine or where the last session stopped:
the session chooses the prompt, these fill in what it talks about."""

from __future__ import annotations

from voicecoach.messages import Cue, ResumePoint
from voicecoach.routines import RoutineLibrary, Step
from voicecoach.summary import SessionSummary


def step_data(step: Step, duration: float) -> dict[str, object]:
    """What setup, side switch and repeat prompts say about a step."""
    ex = step.exercise
    return {
        "exercise": ex.name,
        "side": step.side,
        "side_name": ex.side_name(step.side),
        "why": ex.why,
        "steps": list(ex.setup),
        "switch": ex.switch,
        "reps": ex.reps.count if ex.reps else None,
        "duration": duration,
        "first_side": step.first_side,
    }


def instructions(step: Step, duration: float, *, why: bool) -> list[Cue]:
    """A step's setup: the instructions, then (first time) why it works, then "say ready".
    "repeat" gives them without the why. An optional exercise is offered first: its
    instructions come once the person has said ready to it."""
    data = step_data(step, duration)
    if not why:
        data["first_side"] = False
    return [Cue("setup", data), Cue("setup_end", data)]


def offer(step: Step) -> Cue:
    """Asking whether to do an optional exercise."""
    ex = step.exercise
    return Cue(
        "offer", {"exercise": ex.name, "why": ex.why, "first_side": True, "offer": ex.optional}
    )


def routine_names(library: RoutineLibrary) -> list[str]:
    return [r.name for r in library.routines()]


def resume_data(library: RoutineLibrary, point: ResumePoint) -> dict[str, object]:
    """Where the last session stopped, for the greeting."""
    try:
        routine = library.get(point.routine).name
    except Exception:  # the routine may have gone since; still say what we know
        routine = point.routine
    return {"routine": routine, "exercise": point.exercise, "side": point.side}


def info(library: RoutineLibrary, step: Step | None) -> str | None:
    """What is said when help is asked for twice: about the exercise, then the routine; with
    no step, about every routine."""
    parts: list[str] = []
    if step is not None:
        parts.append(step.exercise.why)
        if step.exercise.info:
            parts.append(step.exercise.info)
        try:
            part_info = library.get(step.part).info
        except Exception:
            part_info = None
        if part_info:
            parts.append(part_info)
    else:
        infos = [r.info for r in library.routines() if r.info]
        parts.extend(infos)
    return " ".join(parts) or None


def hold_start(step: Step, target: float, remaining: float, *, first: bool) -> Cue:
    """What starts (or continues) a hold: the repetitions of a paced exercise, or how long."""
    ex = step.exercise
    if ex.reps is not None and first:
        return Cue(
            "reps_start",
            {
                "reps": ex.reps.reps_for(target),
                "side_name": ex.side_name(step.side),
                "exercise": ex.name,
            },
        )
    data: dict[str, object] = {"duration": remaining, "side_name": ex.side_name(step.side)}
    if first and ex.hold is not None:
        if ex.hold.source_range is not None:
            data["range_low"], data["range_high"] = ex.hold.source_range
        if ex.hold.begin:
            data["begin"] = ex.hold.begin
    return Cue("hold_start" if first else "hold_continue", data)


def summary_data(
    library: RoutineLibrary,
    routine_id: str | None,
    summary: SessionSummary,
    counts_for: str | None,
) -> dict[str, object]:
    """What the spoken summary gets; the daily count advice only for a session that held an
    exercise whose source advises one (`counts_for`)."""
    names = {ex.id: ex.name for _, ex in library.exercises(routine_id or "")}
    routine = library.get(routine_id).name if routine_id else None
    data: dict[str, object] = {"summary": summary, "names": names, "routine": routine}
    if counts_for is not None:
        data["advised"] = library.get(counts_for).advised_per_day
        data["advised_for"] = library.get(counts_for).name
    return data
