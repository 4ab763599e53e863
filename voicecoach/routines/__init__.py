"""Routines as data: YAML files go in, are read safely (`reader`) and checked into typed
routines (`checker`, `model`); the library (`library`) holds those that pass and flattens them
into steps (one exercise on one side) for the session."""

from voicecoach.routines.checker import *  # noqa: F403  (replaced by the split that follows)
