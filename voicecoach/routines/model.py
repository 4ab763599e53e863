"""The routine data classes: a routine, its exercises with their holds or paced repetitions,
and the steps (one exercise on one side) a library flattens them into."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from voicecoach.hearing.grammar import routine_name_stem

SIDES = ("left", "right")
"""The sides an exercise can be done on; an exercise with no sides is done once."""


@dataclass(frozen=True)
class Hold:
    """A timed hold: how long, how far it can be stretched, and what to say during it."""

    seconds: float
    """Default length."""
    min_seconds: float
    """Shortest sensible length (the source's lower bound); informational."""
    max_seconds: float
    """Extensions stop here."""
    extend_seconds: float
    """What "extend" adds when no amount is said."""
    halfway: bool = False
    """Say "halfway" at the middle of the hold."""
    countdown: float = 10.0
    """Say how many seconds are left this many seconds before the end; 0 for never."""
    reminder_every: float | None = None
    """Seconds between calm reminders during the hold; None for none."""
    reminders: tuple[str, ...] = ()
    """Reminder wordings, used in turn."""
    source_range: tuple[float, float] | None = None
    """The range of seconds the source gives ("20 to 30 seconds"), said when the hold starts."""
    begin: str | None = None
    """Said at the start of every hold (the source's "breathing deeply")."""
    coach_choice: str | None = None
    """Set when the length is the coach's own choice, not the source's: says why (listed)."""


@dataclass(frozen=True)
class PacePhase:
    """One phase of a paced repetition, e.g. sliding the heel forward."""

    seconds: float
    """How long the phase lasts."""
    say: tuple[str, ...]
    """Pace words, used in turn from one repetition to the next."""


@dataclass(frozen=True)
class Reps:
    """Paced repetitions: a count of repetitions, each made of timed, spoken phases."""

    count: int
    """Default number of repetitions."""
    max_count: int
    """Extensions stop here."""
    extend_count: int
    """Repetitions that "extend" adds when no amount is said."""
    phases: tuple[PacePhase, ...]
    pace_step: float = 0.25
    """How much "slower" or "faster" stretches or shrinks every phase (0.25: a quarter)."""
    slowest: float = 1.0
    """Longest phases allowed, as a multiple of their length in the file (1: never slower)."""
    fastest: float = 1.0
    """Shortest phases allowed, as a multiple of their length (1: never faster)."""
    coach_choice: str | None = None
    """Set when the count is the coach's own choice, not the source's: says why (listed)."""

    @property
    def rep_seconds(self) -> float:
        """Length of one repetition."""
        return sum(phase.seconds for phase in self.phases)

    def reps_for(self, seconds: float) -> int:
        """Whole repetitions that fit into `seconds` (rounding up a near-complete one)."""
        return math.floor(seconds / self.rep_seconds + 1e-9)


@dataclass(frozen=True)
class Exercise:
    """One exercise: names people can say, why it works, how to set up, and its hold or reps."""

    id: str
    names: tuple[str, ...]
    """Spoken names; the first is the one the coach says."""
    why: str
    """A short, faithful "why it works"."""
    setup: tuple[str, ...]
    """Setup instructions, spoken in order."""
    sides: tuple[str, ...]
    """("left", "right") or () for an exercise done once."""
    hold: Hold | None = None
    reps: Reps | None = None
    side_names: dict[str, str] = field(default_factory=dict)
    """How to say each side for this exercise, e.g. {"left": "left leg"}."""
    switch: str | None = None
    """What to say when moving to the second side, e.g. "Slowly change legs"."""
    info: str | None = None
    """More about the exercise, said only when asked."""
    settle_seconds: float | None = None
    """Time to get into position after the instructions; None uses the session's default."""
    position: str | None = None
    """The body position it is done in ("lying", "kneeling"): a change of position gets more
    time to settle, and no "ease out" is said between steps that keep it."""
    reposition_seconds: float | None = None
    """Time to get into position when the step before was in another position (None: the
    settle time)."""
    optional: str | None = None
    """For an optional exercise, the question that offers it (said instead of "say ready");
    declining it is not a skipped step."""

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def target_seconds(self) -> float:
        """Default length of one side."""
        if self.hold is not None:
            return self.hold.seconds
        assert self.reps is not None
        return self.reps.count * self.reps.rep_seconds

    @property
    def max_seconds(self) -> float:
        if self.hold is not None:
            return self.hold.max_seconds
        assert self.reps is not None
        return self.reps.max_count * self.reps.rep_seconds

    def side_name(self, side: str | None) -> str | None:
        if side is None:
            return None
        return self.side_names.get(side, f"{side} side")


@dataclass(frozen=True)
class Include:
    """A reference to another routine, whose exercises run here in order."""

    routine: str


@dataclass(frozen=True)
class Routine:
    """A named sequence of exercises (and included routines)."""

    id: str
    names: tuple[str, ...]
    """Spoken names, e.g. ("hip", "hip routine"); the first is the one the coach says."""
    items: tuple[Exercise | Include, ...]
    description: str = ""
    info: str | None = None
    """More about the routine (how often, what pain means), said only when asked."""
    advised_per_day: str | None = None
    """How often its source advises doing it, in words ("two to three"), for the summary."""
    source: Path | None = None
    builtin: bool = False

    @property
    def name(self) -> str:
        """How the coach says it, without the "the"/"my" and "routine" that the sentences
        around it add ("my morning routine" -> "morning": "the morning routine")."""
        return routine_name_stem(self.names[0]) or self.names[0]


@dataclass(frozen=True)
class Step:
    """One exercise on one side: the unit the session walks through and resumes at."""

    index: int
    routine: str
    """The routine the session runs."""
    part: str
    """The routine the exercise is defined in (differs from `routine` for included routines)."""
    exercise: Exercise
    side: str | None

    @property
    def first_side(self) -> bool:
        return not self.exercise.sides or self.side == self.exercise.sides[0]

    @property
    def last_side(self) -> bool:
        return not self.exercise.sides or self.side == self.exercise.sides[-1]
