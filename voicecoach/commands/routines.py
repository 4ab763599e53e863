"""`voicecoach routines` lists every routine (built-in and the person's own, broken files with
their error); `voicecoach check FILE` validates one routine file, resolving its includes against
the built-in routines and the routines beside it, as loading would."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from voicecoach import paths
from voicecoach.dialog import say_duration, say_range
from voicecoach.errors import VoicecoachError
from voicecoach.routines import BUILTIN_DIR, Exercise, Routine, RoutineLibrary, load_routine_file
from voicecoach.shown import escape

_LOGGER = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the `routines` and `check` subcommands."""
    listing = subparsers.add_parser(
        "routines", help="list routines with their exercises and durations"
    )
    listing.add_argument(
        "--dir", type=Path, default=None, help="user routines directory (default: config dir)"
    )
    listing.set_defaults(func=run_routines)
    check = subparsers.add_parser("check", help="validate one routine file")
    check.add_argument("file", type=Path, help="a routine YAML file")
    check.set_defaults(func=run_check)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _exercise_line(exercise: Exercise) -> str:
    sides = " per side" if exercise.sides else ""
    if exercise.reps is not None:
        reps = exercise.reps
        amount = (
            f"{_count(reps.count, 'repetition')} of {reps.rep_seconds:g} s{sides}"
            f" (up to {reps.max_count})"
        )
        choice = reps.coach_choice
    else:
        assert exercise.hold is not None
        hold = exercise.hold
        amount = (
            f"hold {say_duration(hold.seconds)}{sides} (up to {say_duration(hold.max_seconds)})"
        )
        if hold.source_range is not None:
            low, high = hold.source_range
            amount += f"; the source says {say_range(low, high)}"
        choice = hold.coach_choice
    if choice:
        # Numbers the sources do not give are the coach's own, and said so.
        amount += f" [coach's choice: {choice}]"
    side_text = ", ".join(exercise.sides) if exercise.sides else "no sides"
    optional = "; optional, asked first" if exercise.optional else ""
    return f"    {exercise.name} [{exercise.id}]: {amount}; {side_text}{optional}"


def run_routines(args: argparse.Namespace) -> int:
    user_dir: Path = args.dir if args.dir is not None else paths.config_dir() / "routines"
    if args.dir is not None and not user_dir.is_dir():
        # Only the default may be absent (no routines of one's own yet); a named one is a typo.
        what = "no such directory" if not user_dir.exists() else "not a directory"
        raise VoicecoachError(f"--dir {user_dir}: {what}")
    lib = RoutineLibrary.load(user_dir=user_dir, warn=False)  # said below, once each
    for routine in lib.routines():
        origin = "built-in" if routine.builtin else f"user: {routine.source}"
        steps = lib.steps(routine.id)
        total = say_duration(lib.total_seconds(routine.id))
        # Escaped: a file name (or anything read from a file) may hold control characters.
        print(escape(f"{routine.id} ({origin}) - say: {', '.join(routine.names)}"))
        print(f"  {_count(len(steps), 'step')}, {total} of holds and repetitions")
        for part, exercise in lib.exercises(routine.id):
            line = _exercise_line(exercise)
            print(escape(line if part == routine.id else f"{line} (from {part})"))
    # One line per broken file, on stderr, and exit 1: the listing is whole for what loaded.
    for broken in lib.broken:
        print(f"voicecoach: skipped {escape(broken.error)}", file=sys.stderr)
    return 1 if lib.broken else 0


def _with_neighbours(path: Path, routine: Routine, taken: set[str]) -> list[Routine]:
    """The routine with the valid routines beside `path`, in the order loading takes them (which
    decides who keeps a shared spoken name): they load together, so it may include them.
    A broken or clashing neighbour is left out; it is not this file's error."""
    found: list[Routine] = []
    others = sorted({*path.parent.glob("*.yaml"), *path.parent.glob("*.yml"), path})
    for other in others:
        if other.resolve() == path.resolve():
            if routine.id in taken:  # a file loaded before it has the id: loading refuses this
                raise VoicecoachError(f"{path}: id: expected a new routine id, got {routine.id!r}")
            taken.add(routine.id)
            found.append(routine)
            continue
        try:
            neighbour = load_routine_file(other)
        except VoicecoachError:
            continue
        if neighbour.id not in taken:
            taken.add(neighbour.id)
            found.append(neighbour)
    return found


def run_check(args: argparse.Namespace) -> int:
    path: Path = args.file
    routine = load_routine_file(path)
    known = [load_routine_file(p, builtin=True) for p in sorted(BUILTIN_DIR.glob("*.yaml"))]
    if path.resolve().parent != BUILTIN_DIR.resolve():
        if routine.id in {b.id for b in known}:
            raise VoicecoachError(
                f"{path}: id: expected an id no built-in routine uses, got {routine.id!r}"
            )
        known += _with_neighbours(path, routine, {b.id for b in known})
    lib = RoutineLibrary(known)  # resolves included routines
    mine = [b.error for b in lib.broken if b.path == routine.source]
    if mine:
        raise VoicecoachError(mine[0])
    steps = lib.steps(routine.id)
    total = say_duration(lib.total_seconds(routine.id))
    print(
        escape(
            f"{path}: ok - routine {routine.id!r}, {_count(len(steps), 'step')}, {total} of holds"
        )
    )
    return 0
