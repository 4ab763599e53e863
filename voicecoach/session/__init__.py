"""The coaching session: what the person said (intents), ticks and speech start/finish go in;
cues for the dialog to word and session events for the history come out.

`machine` holds the one state machine that decides what happens next.
"""

from voicecoach.session.machine import (
    ALL_INTENTS,
    CONFIRM_WAIT_S,
    SPEECH_STEP_VOLUME,
    SPEECH_STEP_WPM,
    START_SURE,
    STATES,
    TRANSITIONS,
    Session,
    SessionView,
)

__all__ = [
    "ALL_INTENTS",
    "CONFIRM_WAIT_S",
    "SPEECH_STEP_VOLUME",
    "SPEECH_STEP_WPM",
    "START_SURE",
    "STATES",
    "TRANSITIONS",
    "Session",
    "SessionView",
]
