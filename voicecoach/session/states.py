"""The session's states and transitions, as data, and which commands make sense in each state."""

from __future__ import annotations

from collections.abc import Callable

from transitions import Machine

STATES = [
    "idle",  # waiting for "start ..." (or "resume" when a resume point is known)
    "checkin_before",  # "how stiff do your hips feel?"
    "setup",  # instructions spoken; the hold starts on "ready" or after the settle time
    "side_switch",  # same exercise, other side; starts like setup
    "hold",  # a timed hold or paced repetitions, running
    "paused",  # frozen; remembers the state it came from
    "stopped",  # "stop" said: a short window in which "resume" continues
    "checkin_after",  # the routine is done; "how stiff now?"
    "summary",  # the end; the summary has been given
]

IN_SESSION = ["checkin_before", "setup", "side_switch", "hold", "paused", "checkin_after"]
_STEPPING = ["checkin_before", "setup", "side_switch", "hold", "paused", "stopped"]

TRANSITIONS: list[dict[str, object]] = [
    {"trigger": "begin_checkin", "source": ["idle", "summary"], "dest": "checkin_before"},
    {
        "trigger": "begin_setup",
        "source": ["idle", "summary", *_STEPPING, "checkin_after"],
        "dest": "setup",
    },
    {"trigger": "begin_side_switch", "source": _STEPPING, "dest": "side_switch"},
    {
        "trigger": "begin_hold",
        "source": ["setup", "side_switch", "paused", "stopped"],
        "dest": "hold",
    },
    {"trigger": "pause", "source": ["setup", "side_switch", "hold"], "dest": "paused"},
    {"trigger": "stop", "source": IN_SESSION, "dest": "stopped"},
    {"trigger": "back_to_checkin", "source": ["stopped"], "dest": "checkin_before"},
    {
        "trigger": "begin_checkin_after",
        "source": [*_STEPPING, "checkin_after"],
        "dest": "checkin_after",
    },
    {"trigger": "finish", "source": [*IN_SESSION, "stopped"], "dest": "summary"},
]

ALL_INTENTS = (  # every intent the grammar defines; each gets an answer in every state
    "start_routine",
    "ready",
    "repeat",
    "skip",
    "back",
    "extend",
    "pause",
    "resume",
    "stop",
    "time_left",
    "help",
    "slower",
    "faster",
    "louder",
    "quieter",
    "pain",
    "rating",
)
SPEECH_INTENTS = ("slower", "faster", "louder", "quieter")
"""Voice settings: answered in every state, and never part of what a state is about."""

_GETTING_INTO_POSITION = (
    "ready",
    "repeat",
    "skip",
    "back",
    "extend",
    "pause",
    "time_left",
    "pain",
    "stop",
    "help",
)
_ALLOWED: dict[str, tuple[str, ...]] = {
    "idle": ("start_routine", "resume", "help"),
    "checkin_before": ("rating", "skip", "repeat", "stop", "help"),
    "setup": _GETTING_INTO_POSITION,
    "side_switch": _GETTING_INTO_POSITION,
    "hold": ("time_left", "extend", "pause", "repeat", "skip", "back", "pain", "stop", "help"),
    "paused": ("resume", "time_left", "extend", "skip", "back", "repeat", "pain", "stop", "help"),
    "stopped": ("resume", "stop", "help"),
    "checkin_after": ("rating", "skip", "back", "repeat", "stop", "help"),
    "summary": ("repeat", "start_routine", "help"),
}
WAITS_AFTER_SPEECH = ("setup", "side_switch", "checkin_before", "checkin_after")
"""States whose wait (settle time, check-in answer) counts from the end of the coach's speech."""


def allowed_intents(state: str, *, can_resume: bool) -> list[str]:
    """What makes sense to say in `state` (every intent still gets an answer)."""
    allowed = list(_ALLOWED[state])
    if state == "idle" and not can_resume:
        allowed.remove("resume")
    return [*allowed, *SPEECH_INTENTS]


class Flow:
    """The machine's model: only holds the state; the session decides what triggers to fire."""

    state: str
    trigger: Callable[[str], bool]
    """Bound by transitions: fire a trigger by name."""


def new_flow() -> Flow:
    """A model in "idle", bound to a machine over STATES and TRANSITIONS."""
    flow = Flow()
    Machine(
        model=flow,
        states=STATES,
        transitions=TRANSITIONS,
        initial="idle",
        queued=True,
        auto_transitions=False,
    )
    return flow
