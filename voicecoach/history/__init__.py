"""The session history (replaced by the split that follows)."""

from voicecoach.history.store import *  # noqa: F403
from voicecoach.history.store import _lock_held_elsewhere  # noqa: F401
