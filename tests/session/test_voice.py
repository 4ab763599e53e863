"""The voice settings: slower, faster, louder and quieter, and the pace of the paced slides."""

from __future__ import annotations

import pytest

from tests.session.coach import Coach, keys
from voicecoach.messages import (
    SpeechAdjust,
)


def test_speech_settings_are_cues_for_the_speaker() -> None:
    coach = Coach()
    adjust = {n: coach.say(n)[0].adjust for n in ("slower", "faster", "louder", "quieter")}
    assert adjust["slower"] == SpeechAdjust(rate_delta=-20)
    assert adjust["faster"] == SpeechAdjust(rate_delta=20)
    assert adjust["louder"] is not None and adjust["louder"].volume_delta > 0
    assert adjust["quieter"] is not None and adjust["quieter"].volume_delta < 0


def test_slower_and_faster_change_the_slides_pace_within_the_files_limits(source_text) -> None:
    """ "Move slower than you think you need to": slower stretches every phase (8 s -> 10 s ->
    12 s, the file's slowest), faster shortens it back, never under the file's 8 s (issue 19:
    it went to 6 s against the source), and says why; the voice changes too. The five slides
    still end as five slides."""
    assert "Move slower than you think you need to." in source_text("somatic-release")
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("skip")
    coach.say("ready")
    began = coach.now
    said = coach.say("slower")
    assert keys(said) == ["pace_slower"] and said[0].adjust == SpeechAdjust(rate_delta=-20)
    assert coach.texts[-1] == "Taking it more slowly: ten seconds each way."
    coach.wait(10.0)
    assert [c.prompt_key for c in coach.cues[-1:]] == ["pace"]  # heel back up, after 10 s
    coach.say("slower")
    said = coach.say("slower")
    assert keys(said) == ["pace_slower_limit"] and "twelve seconds" in coach.texts[-1]
    coach.wait(108.0)
    assert coach.session.state == "side_switch"
    ended = coach.events("hold_ended")[0]
    assert ended.data["reps"] == 5
    # 10 s at 1.25 times as long (8 s of the routine's timing), then its other 72 s at 1.5.
    assert ended.at - began == pytest.approx(10.0 + 72.0 * 1.5)
    assert ended.data["achieved_s"] == pytest.approx(118.0)
    coach.say("ready")  # the right leg keeps the slower pace until told otherwise
    for _ in range(4):
        coach.say("faster")
    assert coach.texts[-1] == (
        "I'll keep it at eight seconds each way: move slower than you think you need to."
    )
    coach.wait(80.0)
    assert coach.events("hold_ended")[-1].data["reps"] == 5
    assert coach.events("hold_ended")[-1].data["achieved_s"] == pytest.approx(80.0)


def test_slower_said_as_the_last_slide_ends_without_a_tick_moves_on_first() -> None:
    """A late tick: the slides' end was due before "slower" arrived. The end is said and the
    session moves on; "slower" then only slows the voice, the hip stirring being no slide."""
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="release")
    coach.say("skip")
    coach.say("skip")  # to the right leg
    coach.say("ready")
    coach.clock.set(coach.now + 81.0)  # past the end of five slides, no tick on the way
    said = coach.say("slower")
    assert coach.session.view().exercise == "hip stirring"
    assert keys(said)[-1] == "speech_slower" and "setup" in keys(said)
    assert coach.events("hold_ended")[-1].data["reps"] == 5


def test_a_pace_change_stays_within_the_files_limits() -> None:
    from voicecoach.routines import PacePhase, Reps
    from voicecoach.session.voice import Paces, pace_reply

    reps = Reps(
        count=3,
        max_count=6,
        extend_count=1,
        phases=(PacePhase(4.0, ("slide",)),),
        pace_step=0.5,
        slowest=1.5,
        fastest=1.0,
    )
    paces = Paces()
    slower = paces.proposed("slower", "slide", reps)
    assert (slower.old, slower.new, slower.at_limit) == (1.0, 1.5, False)
    paces.set("slide", slower.new)
    assert paces.proposed("slower", "slide", reps).at_limit
    assert paces.scale("other") == 1.0
    faster = paces.proposed("faster", "slide", reps)
    assert faster.new == 1.0
    paces.set("slide", faster.new)
    at_limit = paces.proposed("faster", "slide", reps)
    cue = pace_reply("faster", reps, at_limit)
    assert cue.prompt_key == "pace_faster_limit"
    assert cue.data == {"seconds": 4.0, "never": True}
    assert cue.adjust is not None and cue.adjust.rate_delta > 0
