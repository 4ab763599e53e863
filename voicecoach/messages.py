"""Typed values that flow between voicecoach's parts: intents, cues, queue events, session records.

Nothing here knows about audio devices, Vosk or pyttsx3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SlotValue = str | int


@dataclass(frozen=True)
class Intent:
    """A command the person gave, as named in grammars/en.yaml."""

    name: str
    """Intent name, e.g. "extend", "start_routine"."""
    slots: dict[str, SlotValue] = field(default_factory=dict)
    """Slot values: routine names are strings; seconds and ratings are ints."""


@dataclass(frozen=True)
class Word:
    """One recognized word with the engine's confidence and its place in the utterance."""

    text: str
    """The word as the engine spelled it (lower case; Vosk may give "[unk]")."""
    confidence: float
    """0..1, the engine's own measure (Vosk: word posterior; PocketSphinx: see its engine)."""
    start_s: float = 0.0
    """Seconds from the start of the audio fed for this utterance."""
    end_s: float = 0.0
    """Seconds from the start of the audio fed for this utterance."""


@dataclass(frozen=True)
class Utterance:
    """What the recognizer made of one stretch of speech."""

    text: str
    """The words recognized (may include "[unk]")."""
    intent: Intent | None
    """The command it matched in the grammar, or None for anything that is not a command."""
    confidence: float
    """0..1, the lowest per-word confidence of the matched words."""
    decode_ms: float = 0.0
    """Time spent decoding this utterance."""
    words: tuple[Word, ...] = ()
    """Per-word confidences and times behind `text`."""
    engine: str = ""
    """Which engine heard it ("vosk", "pocketsphinx")."""
    rejected: str = ""
    """Why the engine refused to call it a command, when it heard words but gives no intent."""


@dataclass(frozen=True)
class SpeechAdjust:
    """A change to how the coach speaks, applied by the speaker adapter."""

    rate_delta: int = 0
    """Words per minute to add (negative is slower)."""
    volume_delta: float = 0.0
    """Volume to add, on a 0..1 scale (negative is quieter)."""


@dataclass(frozen=True)
class Cue:
    """Something the coach should say: a prompt key and the data that fills its wording."""

    prompt_key: str
    """Key into the prompts data file, e.g. "halfway"."""
    data: dict[str, object] = field(default_factory=dict)
    """Values for the prompt's placeholders, e.g. {"side": "left"}."""
    adjust: SpeechAdjust | None = None
    """For slower/faster/louder/quieter: the setting to apply before speaking."""


# --- events on the one queue that feeds the session -------------------------------------------


@dataclass(frozen=True)
class IntentHeard:
    """The person said a command."""

    intent: Intent
    now: float
    """Clock time (monotonic seconds) at which the utterance ended."""
    utterance: Utterance | None = None
    after_speech: bool = False
    """Heard over the coach's voice, and not a command that cuts it short: the loop acts on it
    once the coach has finished what it is saying, instead of dropping it unanswered."""


@dataclass(frozen=True)
class Tick:
    """The clock reached `now`; lets the session fire deadlines."""

    now: float


@dataclass(frozen=True)
class SpeechStarted:
    """The speaker started playing a cue."""

    now: float
    cue: Cue | None = None


@dataclass(frozen=True)
class SpeechFinished:
    """The speaker finished (or was cut off while) playing a cue."""

    now: float
    cue: Cue | None = None
    interrupted: bool = False


SessionInput = IntentHeard | Tick | SpeechStarted | SpeechFinished


@dataclass(frozen=True)
class SessionEvent:
    """A fact about a session worth recording: the history and the summary are built from these."""

    kind: str
    """One of: session_started, step_started, hold_started, hold_ended, skipped, declined (an
    optional exercise left out), back, extended, paused, resumed, pain, pace (slower/faster in
    paced repetitions), stopped, resumed_after_stop, finished, rating."""
    at: float
    """Clock time (monotonic seconds) at which it happened."""
    routine: str | None = None
    exercise: str | None = None
    side: str | None = None
    data: dict[str, object] = field(default_factory=dict)
    """Kind-specific values, e.g. {"achieved_s": 30.0} for hold_ended, {"seconds": 300} for
    extended."""


@dataclass(frozen=True)
class Progress:
    """What the history knows at the start of a session, for the spoken summary."""

    sessions_today: int
    """Sessions completed today, counting this one if it completes."""
    streak_days: int
    """Consecutive days with at least one session, counting today if this one completes."""
    advised_today: int | None = None
    """Completed sessions today that held an exercise whose source advises a daily count (the
    kneeling stretch's "2 - 3 times daily"), counting this one if it is such a session."""


@dataclass(frozen=True)
class ResumePoint:
    """Where an interrupted session stopped, so "resume" in idle can continue it."""

    routine: str
    """Routine id, e.g. "release"."""
    step_index: int
    """Index of the step (one exercise on one side) that was under way."""
    exercise: str
    """Spoken name of that step's exercise."""
    side: str | None = None
    session_id: int | None = None
    """The history's id of the interrupted session, if it came from the history."""
