"""The step plan of a run: the routine's steps, where we are, what comes next, and what was done
on the way that changes what comes (optional exercises said yes to, sides where it hurt)."""

from __future__ import annotations

from dataclasses import dataclass, field

from voicecoach.routines import Step


@dataclass
class StepPlan:
    """One run through a routine's steps (one exercise on one side each)."""

    routine: str | None = None
    """The routine's id; None before a routine starts."""
    steps: list[Step] = field(default_factory=list)
    index: int = 0
    accepted: set[str] = field(default_factory=set)
    """Optional exercises the person said "ready" to when asked: their instructions follow."""
    pain_sides: dict[str, set[str | None]] = field(default_factory=dict)
    """Exercise id -> sides on which pain was said (a hold it stopped, or getting into it)."""
    pain_on_step: dict[int, int] = field(default_factory=dict)
    """Step index -> how many times pain was said on it."""
    skipped_side: str | None = None
    """A first side skipped just now, for the side switch to mention."""

    @property
    def step(self) -> Step | None:
        """The current step, if the index is on one."""
        if 0 <= self.index < len(self.steps):
            return self.steps[self.index]
        return None

    @property
    def current(self) -> Step:
        """The current step, which must exist."""
        return self.steps[self.index]

    @property
    def following(self) -> Step | None:
        """The step after the current one, if any."""
        return self.steps[self.index + 1] if self.index + 1 < len(self.steps) else None

    @property
    def at_last(self) -> bool:
        return self.index + 1 >= len(self.steps)

    def next_exercise_name(self) -> str | None:
        """The next exercise's name when this is its last side and another exercise follows."""
        step = self.step
        if step is None or not step.last_side or self.index + 1 >= len(self.steps):
            return None
        return self.steps[self.index + 1].exercise.name

    def settle_time(self, step: Step, default_s: float) -> float:
        """Time to get into position: more when the position changes (lying to kneeling), or
        for the first step, when the person gets down onto the floor."""
        ex = step.exercise
        settle = ex.settle_seconds if ex.settle_seconds is not None else default_s
        if ex.reposition_seconds is None:
            return settle
        prev = self.steps[step.index - 1].exercise if step.index > 0 else None
        if prev is None or prev.position != ex.position:
            return max(settle, ex.reposition_seconds)
        return settle

    def last_side_index(self) -> int:
        """The index of the current exercise's last side, from the current step on."""
        ex = self.current.exercise
        end = self.index
        while end + 1 < len(self.steps) and self.steps[end + 1].exercise is ex:
            end += 1
        return end

    def base_exercise(self, step: Step) -> str | None:
        """The exercise an optional one deepens: the one just before its first side ("if that
        is feeling easy ... get in a bit deeper")."""
        first = step.index
        while first > 0 and self.steps[first - 1].exercise is step.exercise:
            first -= 1
        return self.steps[first - 1].exercise.id if first > 0 else None

    def hurt_sides_ahead(self) -> int:
        """Where the run of the current exercise's sides on which its base exercise hurt ends
        (the current index when the current side is fine)."""
        step = self.current
        ex = step.exercise
        base = self.base_exercise(step)
        hurt = self.pain_sides.get(base, set()) if base is not None else set()
        end = self.index
        while end < len(self.steps) and self.steps[end].exercise is ex:
            if self.steps[end].side not in hurt:
                break
            end += 1
        return end

    def exercise_name(self, exercise_id: str) -> str:
        for step in self.steps:
            if step.exercise.id == exercise_id:
                return step.exercise.name
        return exercise_id.replace("_", " ")
