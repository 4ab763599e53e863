"""Replies to the voice settings: slower, faster, louder and quieter change how the coach
speaks and, in a paced exercise, how long its phases last."""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.messages import Cue, SpeechAdjust
from voicecoach.routines import Reps
from voicecoach.session.hold import EPS

SPEECH_STEP_WPM = 20
"""Words per minute that slower/faster add or take away."""
SPEECH_STEP_VOLUME = 0.1
"""Volume (0..1) that louder/quieter add or take away."""

_SPEECH = {
    "slower": SpeechAdjust(rate_delta=-SPEECH_STEP_WPM),
    "faster": SpeechAdjust(rate_delta=SPEECH_STEP_WPM),
    "louder": SpeechAdjust(volume_delta=SPEECH_STEP_VOLUME),
    "quieter": SpeechAdjust(volume_delta=-SPEECH_STEP_VOLUME),
}


def is_voice_setting(name: str) -> bool:
    return name in _SPEECH


def speech_reply(name: str) -> Cue:
    """The answer to a voice setting: its wording, and the change for the speaker to apply."""
    return Cue(f"speech_{name}", adjust=_SPEECH[name])


@dataclass(frozen=True)
class PaceChange:
    """What "slower" or "faster" does to a paced exercise."""

    old: float
    """Phase length multiple before."""
    new: float
    """Phase length multiple after (the same at a limit)."""

    @property
    def at_limit(self) -> bool:
        return abs(self.new - self.old) < EPS


class Paces:
    """Phase length multiples per paced exercise id ("move slower than you think you need
    to"), within the routine file's limits."""

    def __init__(self) -> None:
        self._scale: dict[str, float] = {}

    def scale(self, exercise_id: str) -> float:
        return self._scale.get(exercise_id, 1.0)

    def proposed(self, name: str, exercise_id: str, reps: Reps) -> PaceChange:
        """What "slower" or "faster" would make of an exercise's pace (not applied yet: the
        time held so far counts at the old pace)."""
        old = self.scale(exercise_id)
        if name == "slower":
            return PaceChange(old=old, new=min(reps.slowest, old + reps.pace_step))
        return PaceChange(old=old, new=max(reps.fastest, old - reps.pace_step))

    def set(self, exercise_id: str, scale: float) -> None:
        self._scale[exercise_id] = scale


def pace_reply(name: str, reps: Reps, change: PaceChange) -> Cue:
    """The answer to "slower" or "faster" in a paced exercise, with the voice change."""
    seconds = reps.phases[0].seconds * change.new
    key = f"pace_{name}_limit" if change.at_limit else f"pace_{name}"
    data: dict[str, object] = {"seconds": seconds}
    if change.at_limit and name == "faster" and reps.fastest >= 1.0 - EPS:
        data["never"] = True  # never quicker than the file's own pace: said why
    return Cue(key, data, adjust=_SPEECH[name])
