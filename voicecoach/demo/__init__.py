"""`voicecoach demo` (replaced by the split that follows)."""

from voicecoach.demo.run import *  # noqa: F403
