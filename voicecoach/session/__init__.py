"""The coaching session: intents, ticks and speech start/finish go in, with their times; cues
(prompt keys and data) for the dialog to word, and session events for the history, come out.

`machine.Session` is the one place that decides what happens next, over the states and
transitions in `states`. What it keeps is in small parts that decide nothing: `hold` (the hold
clock), `milestones` (what a hold says when), `plan` (the steps and where we are), `wait`
(settle, check-in and stop deadlines), `voice` (voice settings and pace), `record` (events),
`words` (what prompts say about a step).
"""

from voicecoach.session.machine import CONFIRM_WAIT_S, START_SURE, Session, SessionView
from voicecoach.session.states import ALL_INTENTS, STATES, TRANSITIONS
from voicecoach.session.voice import SPEECH_STEP_VOLUME, SPEECH_STEP_WPM

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
