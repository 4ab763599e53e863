"""Routines as data: YAML files go in, are read safely (`reader`) and checked into typed
routines (`checker`, into the classes of `model`), with errors that name the file and field; the
library (`library`) holds those that pass and flattens them into steps (one exercise on one
side) for the session."""

from voicecoach.routines.checker import load_routine_file, parse_routine
from voicecoach.routines.library import BUILTIN_DIR, BrokenRoutine, RoutineLibrary
from voicecoach.routines.model import SIDES, Exercise, Hold, Include, PacePhase, Reps, Routine, Step
from voicecoach.routines.reader import (
    MAX_INCLUDE_DEPTH,
    MAX_NESTING,
    MAX_PACE_FACTOR,
    MAX_REPS,
    MAX_ROUTINE_BYTES,
    MAX_SECONDS,
    MAX_STEPS,
    MAX_VALUES,
    MIN_SECONDS,
    read_routine_data,
)

__all__ = [
    "BUILTIN_DIR",
    "MAX_INCLUDE_DEPTH",
    "MAX_NESTING",
    "MAX_PACE_FACTOR",
    "MAX_REPS",
    "MAX_ROUTINE_BYTES",
    "MAX_SECONDS",
    "MAX_STEPS",
    "MAX_VALUES",
    "MIN_SECONDS",
    "SIDES",
    "BrokenRoutine",
    "Exercise",
    "Hold",
    "Include",
    "PacePhase",
    "Reps",
    "Routine",
    "RoutineLibrary",
    "Step",
    "load_routine_file",
    "parse_routine",
    "read_routine_data",
]
