"""The routine library: built-in routines and the person's own that pass, their includes
flattened into steps, and the names they answer to.

Built-in routines ship in voicecoach/data/routines; the person's own live in
``paths.config_dir() / "routines"``. A broken user file is reported, never fatal.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicecoach import paths
from voicecoach.errors import VoicecoachError
from voicecoach.hearing.grammar import load_grammar, routine_name_stem
from voicecoach.routines.checker import load_routine_file
from voicecoach.routines.model import Exercise, Include, Routine, Step
from voicecoach.routines.reader import MAX_INCLUDE_DEPTH, MAX_STEPS, brief
from voicecoach.shown import escape

_LOGGER = logging.getLogger(__name__)

BUILTIN_DIR = paths.PACKAGE_DATA / "routines"


@functools.cache
def _base_grammar() -> Any:
    """The command grammar without the person's routine names: what a new name must not be."""
    return load_grammar()


def _check_names(routine: Routine, taken: dict[str, str]) -> None:
    """Refuse a name of the person's routine that the recognizer cannot take, that is a command,
    or that another routine already answers to; `taken` (stem -> routine id) grows as routines
    pass. Built-in names are taken, never judged."""
    stems = [(i, name, routine_name_stem(name)) for i, name in enumerate(routine.names)]
    if routine.builtin:
        for _i, _name, stem in stems:
            if stem is not None:
                taken.setdefault(stem, routine.id)
        return
    where = routine.source or routine.id
    for i, name, stem in stems:
        if stem is None:
            raise VoicecoachError(
                f"{where}: names[{i}]: expected a name the recognizer can take (English "
                f"letters only, numbers written as words), got {brief(name)}"
            )
        owner = taken.get(stem)
        if owner is None:
            for sentence in (stem, f"start {stem}", f"{stem} routine"):
                intent = _base_grammar().match(sentence)
                if intent is None:
                    continue
                if intent.name == "start_routine" and intent.slots.get("routine"):
                    owner = str(intent.slots["routine"])
                    break
                raise VoicecoachError(
                    f"{where}: names[{i}]: expected a name that is not a command, got "
                    f'{brief(name)} ("{sentence}" means {intent.name})'
                )
        if owner is not None and owner != routine.id:
            raise VoicecoachError(
                f"{where}: names[{i}]: expected a name no other routine answers to, got "
                f"{brief(name)} (routine {owner!r} is called that)"
            )
    for _i, _name, stem in stems:
        taken.setdefault(stem or "", routine.id)


@dataclass(frozen=True)
class BrokenRoutine:
    """A user routine file that failed to load, and why."""

    path: Path
    error: str


class RoutineLibrary:
    """All routines that loaded: built-in ones always, the person's own when they are valid."""

    def __init__(self, routines: Iterable[Routine], broken: Iterable[BrokenRoutine] = ()) -> None:
        self._routines: dict[str, Routine] = {}
        self.broken: list[BrokenRoutine] = list(broken)
        for routine in routines:
            self._add(routine)
        self._check_includes()

    def _add(self, routine: Routine) -> None:
        if routine.id in self._routines:
            where = routine.source or routine.id
            raise VoicecoachError(f"{where}: id: expected a new routine id, got {routine.id!r}")
        self._routines[routine.id] = routine

    def _check_includes(self) -> None:
        """Set aside the person's routines that cannot run: an include that is unknown, circular
        or too deep, too many steps, or a name that cannot be said. Every routine is judged
        against the same full set first, so two routines including each other both name the
        loop (instead of the second finding the first gone)."""
        while self._set_aside_unrunnable():
            pass  # what included a routine now set aside is broken too: judge again
        self._steps_cache: dict[str, list[Step]] = {}

    def _set_aside_unrunnable(self) -> bool:
        problems: dict[str, str] = {}
        taken: dict[str, str] = {}
        for routine in self._routines.values():
            try:
                steps = sum(len(ex.sides or (None,)) for _, ex in self._flatten(routine.id, ()))
                if steps > MAX_STEPS:
                    raise VoicecoachError(
                        f"{routine.source or routine.id}: exercises: expected at most {MAX_STEPS} "
                        f"steps with included routines, got {steps}"
                    )
                _check_names(routine, taken)
            except VoicecoachError as exc:
                if routine.builtin:
                    raise
                problems[routine.id] = str(exc)
        for routine_id, error in problems.items():
            routine = self._routines.pop(routine_id)
            self.broken.append(BrokenRoutine(routine.source or Path(routine_id), error))
        return bool(problems)

    @classmethod
    def load(
        cls, user_dir: Path | None = None, *, builtin_dir: Path = BUILTIN_DIR, warn: bool = True
    ) -> RoutineLibrary:
        """Load the built-in routines, then the person's (default: config_dir()/routines).

        Each broken file is in `broken` and, with `warn`, logged as a warning (one line each).
        """
        builtins = [load_routine_file(p, builtin=True) for p in sorted(builtin_dir.glob("*.yaml"))]
        if user_dir is None:
            user_dir = paths.config_dir() / "routines"
        lib = cls(builtins)
        if user_dir.is_dir():
            try:
                names = os.listdir(user_dir)  # glob would say nothing about a locked directory
            except OSError as exc:
                names = []
                error = f"{user_dir}: cannot read the directory: {exc.strerror or exc}"
                lib.broken.append(BrokenRoutine(user_dir, error))
            # Hidden names are editors' (".#mine.yaml" lock links), as `*.yaml` globbing skips.
            files = [
                user_dir / n
                for n in names
                if n.endswith((".yaml", ".yml")) and not n.startswith(".")
            ]
            for path in sorted(files):
                try:
                    lib._add(load_routine_file(path))
                except VoicecoachError as exc:
                    lib.broken.append(BrokenRoutine(path, str(exc)))
            lib._check_includes()
        for broken in lib.broken:
            _LOGGER.log(
                logging.WARNING if warn else logging.INFO, "skipping %s", escape(broken.error)
            )
        _LOGGER.info("loaded %d routines (%d broken files)", len(lib._routines), len(lib.broken))
        return lib

    def ids(self) -> list[str]:
        return list(self._routines)

    def routines(self) -> list[Routine]:
        return list(self._routines.values())

    def get(self, routine_id: str) -> Routine:
        try:
            return self._routines[routine_id]
        except KeyError:
            known = ", ".join(self._routines)
            raise VoicecoachError(f"no routine {routine_id!r}; known routines: {known}") from None

    def _flatten(
        self, routine_id: str, seen: tuple[str, ...], budget: list[int] | None = None
    ) -> list[tuple[str, Exercise]]:
        # `seen` is the chain of includes that led here; its first routine is the one judged.
        where = (self._routines[seen[0]].source or seen[0]) if seen else routine_id
        routine = self._routines.get(routine_id)
        if routine is None:
            raise VoicecoachError(
                f"{where}: exercises: expected a known routine, got {routine_id!r}"
            )
        if routine_id in seen:
            raise VoicecoachError(
                f"{where}: exercises: expected no circular includes, got the loop "
                f"{' -> '.join((*seen, routine_id))}"
            )
        if len(seen) > MAX_INCLUDE_DEPTH:
            raise VoicecoachError(
                f"{where}: exercises: expected includes at most {MAX_INCLUDE_DEPTH} deep, got "
                f"{' -> '.join((*seen, routine_id))}"
            )
        # Includes multiply (30 includes of 30 includes of ...): count exercises as they come.
        budget = budget if budget is not None else [MAX_STEPS]
        out: list[tuple[str, Exercise]] = []
        for item in routine.items:
            if isinstance(item, Include):
                out.extend(self._flatten(item.routine, (*seen, routine_id), budget))
            else:
                budget[0] -= 1
                if budget[0] < 0:
                    raise VoicecoachError(
                        f"{where}: exercises: expected at most {MAX_STEPS} exercises with "
                        "included routines, got more"
                    )
                out.append((routine_id, item))
        return out

    def exercises(self, routine_id: str) -> list[tuple[str, Exercise]]:
        """(defining routine id, exercise) pairs in order, with included routines expanded."""
        self.get(routine_id)
        return self._flatten(routine_id, ())

    def steps(self, routine_id: str) -> list[Step]:
        """The routine flattened: one step per exercise per side, indexed from 0."""
        if routine_id not in self._steps_cache:
            steps: list[Step] = []
            for part, exercise in self.exercises(routine_id):
                for side in exercise.sides or (None,):
                    steps.append(Step(len(steps), routine_id, part, exercise, side))
            self._steps_cache[routine_id] = steps
        return list(self._steps_cache[routine_id])

    def total_seconds(self, routine_id: str) -> float:
        """Default length of all holds and repetitions (setup time not counted)."""
        return sum(step.exercise.target_seconds for step in self.steps(routine_id))

    def spoken_names(self) -> dict[str, str]:
        """Spoken routine name -> routine id, for the grammar's routine slot list."""
        names: dict[str, str] = {}
        for routine in self._routines.values():
            for name in routine.names:
                names.setdefault(name.lower(), routine.id)
        return names

    def find(self, spoken: str) -> Routine | None:
        """The routine with this id or spoken name, if any."""
        key = " ".join(spoken.lower().split())
        if key in self._routines:
            return self._routines[key]
        routine_id = self.spoken_names().get(key)
        return None if routine_id is None else self._routines[routine_id]
