"""Listening: the gating rules, the echo-aware end-of-speech detector, and (with the model) real
speech over the coach's own voice."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from voicecoach.asr.vosk import tune_endpoint_conf
from voicecoach.audio import SAMPLE_RATE
from voicecoach.listener import (
    EndpointDetector,
    GatePolicy,
    Listener,
    gate,
    syllables,
)
from voicecoach.messages import Intent, IntentHeard, Utterance
from voicecoach.tts import EchoReference, Pyttsx3Renderer, VoiceSettings

FRAME = 320  # 20 ms
POLICY = GatePolicy()


def utt(name: str | None, conf: float = 0.95) -> Utterance:
    return Utterance(name or "[unk]", Intent(name) if name else None, conf)


# --- gating ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["stop", "pause", "skip"])
def test_barge_in_commands_pass_over_the_coach_when_sure(name: str) -> None:
    assert gate(utt(name, 0.9), coach_active=True, policy=POLICY).accept
    assert not gate(utt(name, 0.5), coach_active=True, policy=POLICY).accept
    assert gate(utt(name, 0.7), coach_active=True, policy=POLICY).accept == (name == "pain")


def test_a_command_that_waits_for_the_coach_must_not_share_its_words() -> None:
    """Acted on later, so held to more than a barge-in: the coach's "Keep your glutes squeezed."
    was decoded as "keep going please" (resume); a word of four letters or more in common
    marks the echo. "longer" over "I'll time ten minutes" shares none and waits."""
    said = ["Keep your glutes squeezed."]
    resume = Utterance("keep going please", Intent("resume"), 0.94)
    decision = gate(resume, coach_active=True, policy=POLICY, coach_said=said)
    assert not decision.accept and "'keep'" in decision.reason
    longer = Utterance("longer", Intent("extend"), 0.92)
    cue = ["Ten to fifteen minutes; I'll time ten minutes."]
    assert gate(longer, coach_active=True, policy=POLICY, coach_said=cue).after_speech
    # A barge-in is not held to it: "stop it hurts" over "Stop there. Ease out ..." is pain.
    pain = Utterance("stop it hurts", Intent("pain"), 0.9)
    stop_there = ["Stop there. Ease out of the position slowly."]
    assert gate(pain, coach_active=True, policy=POLICY, coach_said=stop_there).accept


def test_every_gate_rule_leans_towards_pain() -> None:
    """Issue 19: a wrong pain costs a few seconds, a lost one can cost an injury. Where "stop"
    or "skip" is refused (too short, too unsure, too long), pain heard the same way passes."""
    for name, taken in (("pain", True), ("stop", False), ("skip", False)):
        u = Utterance("ow" if name == "pain" else name, Intent(name), 0.95)
        # A 0.12 s burst: "ouch" clipped where it overlapped the coach (the 0.16 s floor).
        assert gate(u, coach_active=True, policy=POLICY, duration_s=0.12).accept is taken
        assert gate(u, coach_active=False, policy=POLICY, duration_s=0.0).accept is taken
        # A groan: "ow" drawn out over 1.8 s.
        assert gate(u, coach_active=False, policy=POLICY, duration_s=1.8).accept is taken
        # Unsure, in silence and over the coach.
        unsure = Utterance(u.text, u.intent, 0.35)
        assert gate(unsure, coach_active=False, policy=POLICY).accept is taken
        assert gate(replace(unsure, confidence=0.65), coach_active=True, policy=POLICY).accept is (
            taken
        )
    # The shortest bursts of the coach's echo (three and four frames) are not pain over it.
    for burst_s in (0.06, 0.08):
        assert not gate(
            utt("pain", 0.95), coach_active=True, policy=POLICY, duration_s=burst_s
        ).accept
        assert gate(utt("pain", 0.95), coach_active=False, policy=POLICY, duration_s=burst_s).accept
    # Chatter is still chatter: pain fitted over 4 s of talk is refused.
    assert not gate(utt("pain"), coach_active=False, policy=POLICY, duration_s=4.0).accept


def test_pain_in_the_coachs_own_words_is_still_its_echo() -> None:
    """The one rule pain keeps: the coach says "pain" ("Don't push into pain"), and its echo
    taken for pain would stop the hold again each time the coach answered it."""
    said = ["Stop there. Ease out of the position slowly. Don't push into pain."]
    pain = Utterance("pain", Intent("pain"), 0.95)
    assert not gate(pain, coach_active=True, policy=POLICY, coach_said=said).accept
    ouch = Utterance("ouch", Intent("pain"), 0.95)
    assert gate(ouch, coach_active=True, policy=POLICY, coach_said=said).accept


def test_pain_over_the_coach_needs_no_more_than_in_quiet() -> None:
    assert gate(utt("pain", 0.55), coach_active=True, policy=POLICY).accept
    assert not gate(utt("pain", 0.45), coach_active=True, policy=POLICY).accept


@pytest.mark.parametrize("name", ["repeat", "extend", "time_left", "rating", "resume", "slower"])
def test_other_commands_over_the_coach_wait_for_it_to_finish(name: str) -> None:
    """Issue 19: "longer" and "faster" said while the coach talked were dropped unanswered.
    They meet the barge-in bars and are acted on once the coach has finished."""
    decision = gate(utt(name, 0.99), coach_active=True, policy=POLICY)
    assert decision.accept and decision.after_speech
    assert "acted on once it has finished" in decision.reason
    assert not gate(utt(name, 0.7), coach_active=True, policy=POLICY).accept
    assert not gate(utt(name, 0.85), coach_active=True, policy=POLICY).accept  # a barge-in's
    said = ["Say that when you're set."]
    own = Utterance("say that", Intent(name), 0.99)
    assert not gate(own, coach_active=True, policy=POLICY, coach_said=said).accept
    quiet = gate(utt(name, 0.99), coach_active=False, policy=POLICY)
    assert quiet.accept and not quiet.after_speech


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("stop", 1),
        ("pause", 1),
        ("could you repeat that please", 6),
        ("how long left", 3),
        ("add another twenty more seconds please", 10),
        ("three", 1),
        ("it's a five", 3),
    ],
)
def test_syllables_are_counted_near_enough(text: str, count: int) -> None:
    assert syllables(text) == count


def test_a_command_laid_over_a_long_stretch_of_talk_is_refused() -> None:
    """The live bench's chatter: "do psoas release routine" heard over a 4.8 s sentence."""
    said = Utterance("do psoas release routine", Intent("start_routine"), 1.0)
    decision = gate(said, coach_active=False, policy=POLICY, duration_s=4.8)
    assert not decision.accept
    assert "longer than the words take" in decision.reason
    # The same words said slowly, with a pause, are a command.
    assert gate(said, coach_active=False, policy=POLICY, duration_s=2.6).accept
    slow = Utterance("give me twenty five more seconds please", Intent("extend"), 1.0)
    assert gate(slow, coach_active=False, policy=POLICY, duration_s=3.6).accept
    assert gate(utt("stop", 0.9), coach_active=True, policy=POLICY, duration_s=0.5).accept
    assert not gate(utt("stop", 0.9), coach_active=True, policy=POLICY, duration_s=2.0).accept


def test_a_command_heard_in_a_burst_too_short_for_any_command_is_refused() -> None:
    """The room's echo bursts (80 and 140 ms, heard as "quit": a barge-in "stop") against the
    fastest real command, "ow" at 220 words a minute (0.20 s)."""
    for burst_s in (0.06, 0.08, 0.14):
        decision = gate(utt("stop", 0.95), coach_active=True, policy=POLICY, duration_s=burst_s)
        assert not decision.accept
        assert "shorter than any command takes" in decision.reason
    assert gate(utt("pain", 0.95), coach_active=False, policy=POLICY, duration_s=0.2).accept
    assert gate(utt("stop", 0.95), coach_active=True, policy=POLICY, duration_s=0.2).accept


def test_the_listener_passes_a_bursts_length_to_the_gate() -> None:
    signal = np.concatenate(
        [noise(0.5), tone(0.1), noise(1.0, seed=1), tone(0.3), noise(1.0, seed=2)]
    )
    fired = run(Listener(ScriptedRecognizer(utt("stop"), utt("stop")), lambda _e: None), signal)
    # The 0.1 s burst is refused; the 0.3 s "stop" (1.6 to 1.9 s) is not.
    assert [event.now for _t, event in fired] == [pytest.approx(1.9, abs=0.03)]
    # Without the floor the burst fires too; so does pain, which has no floor.
    no_floor = GatePolicy(min_s=0.0)
    rec = ScriptedRecognizer(utt("stop"), utt("stop"))
    assert len(run(Listener(rec, lambda _e: None, policy=no_floor), signal)) == 2
    rec = ScriptedRecognizer(utt("pain"), utt("pain"))
    assert len(run(Listener(rec, lambda _e: None), signal)) == 2


def test_a_barge_in_made_of_the_coachs_own_words_is_its_echo() -> None:
    """'Or say skip.' leaking past the echo estimate must not skip the step."""
    skip = Utterance("skip", Intent("skip"), 0.95)
    asked = "How stiff do your hips feel now, from zero to ten? Or say skip."
    decision = gate(skip, coach_active=True, policy=POLICY, coach_said=[asked])
    assert not decision.accept
    assert "coach's own words" in decision.reason
    # Words the coach is not saying still cut it short ...
    other = ["Say ready when you're in position."]
    assert gate(skip, coach_active=True, policy=POLICY, coach_said=other).accept
    # ... whole words only: "stopping" does not contain "stop" ...
    stop = Utterance("stop", Intent("stop"), 0.95)
    stopping = ["Stopping. Say resume within thirty seconds to carry on."]
    assert gate(stop, coach_active=True, policy=POLICY, coach_said=stopping).accept
    # ... and once the coach is quiet its last sentence does not matter.
    assert gate(skip, coach_active=False, policy=POLICY, coach_said=[asked]).accept


def test_the_listener_refuses_a_barge_in_the_coach_was_saying(coach_speech: np.ndarray) -> None:
    start = 1.0
    ref = EchoReference()
    ref.started(start, coach_speech, SAMPLE_RATE, "Or say skip to move on.")
    ref.finished(start + len(coach_speech) / SAMPLE_RATE)
    n = len(coach_speech)
    mic = np.concatenate([noise(start), noise(n / SAMPLE_RATE, seed=4), noise(1.5)]).astype(
        np.int32
    )
    s0 = round(start * SAMPLE_RATE)
    p0 = s0 + round(1.5 * SAMPLE_RATE)
    loud = tone(0.5, amp=9000, freq=150)  # loud enough to pass the echo estimate
    mic[p0 : p0 + len(loud)] += loud
    mic16 = np.clip(mic, -32768, 32767).astype(np.int16)
    posted: list[object] = []
    listener = Listener(ScriptedRecognizer(utt("skip", 0.95)), posted.append, reference=ref)
    assert run(listener, mic16) == []
    assert posted == []
    assert "coach's own words" in listener.heard[-1].decision.reason


def test_non_commands_and_unsure_commands_never_fire() -> None:
    assert not gate(None, coach_active=False, policy=POLICY).accept
    assert not gate(utt(None), coach_active=False, policy=POLICY).accept
    assert not gate(utt("repeat", 0.3), coach_active=False, policy=POLICY).accept


# --- synthetic audio ---------------------------------------------------------------------------


def tone(seconds: float, amp: float = 4000.0, freq: float = 220.0) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    # A buzzy vowel-like sound: harmonics so it is not a pure sine.
    x = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    return (amp * x / 1.5).astype(np.int16)


def noise(seconds: float, amp: float = 30.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(round(seconds * SAMPLE_RATE)) * amp).astype(np.int16)


def frames(signal: np.ndarray, t0: float = 0.0):
    for i in range(0, len(signal) - FRAME + 1, FRAME):
        yield signal[i : i + FRAME], t0 + (i + FRAME) / SAMPLE_RATE


class ScriptedRecognizer:
    """Returns the next scripted utterance at each flush; records how much audio it was fed."""

    def __init__(self, *results: Utterance | None) -> None:
        self._results = list(results)
        self.fed_samples: list[int] = []
        self._current = 0

    def accept(self, chunk: bytes) -> Utterance | None:
        self._current += len(chunk) // 2
        return None

    def flush(self) -> Utterance | None:
        self.fed_samples.append(self._current)
        self._current = 0
        return self._results.pop(0) if self._results else None

    def reset(self) -> None:
        self._current = 0


def run(listener: Listener, signal: np.ndarray, t0: float = 0.0) -> list[tuple[float, IntentHeard]]:
    out = []
    for frame, t_end in frames(signal, t0):
        for event in listener.feed(frame, t_end):
            out.append((t_end, event))
    return out


def test_end_of_speech_is_found_within_the_hangover() -> None:
    posted: list[object] = []
    rec = ScriptedRecognizer(utt("repeat"))
    listener = Listener(rec, posted.append)
    signal = np.concatenate([noise(1.0), tone(0.6) + noise(0.6, seed=1), noise(1.0, seed=2)])
    fired = run(listener, signal)
    assert len(fired) == 1
    dispatched_at, event = fired[0]
    assert event.intent.name == "repeat"
    assert event.now == pytest.approx(1.6, abs=0.03)  # when the words ended
    assert dispatched_at - 1.6 <= 0.25  # 200 ms hangover, 20 ms frames
    assert posted == [event]
    # The recognizer got the words plus pre-roll and the hangover, not the whole second of silence.
    assert 0.6 * SAMPLE_RATE <= rec.fed_samples[0] <= 1.2 * SAMPLE_RATE


def test_silence_and_noise_feed_nothing_to_the_recognizer() -> None:
    rec = ScriptedRecognizer(utt("stop"))
    listener = Listener(rec, lambda _e: None)
    assert run(listener, noise(5.0, amp=80)) == []
    assert rec.fed_samples == []


def test_two_commands_two_utterances() -> None:
    rec = ScriptedRecognizer(utt("pause"), utt("resume"))
    listener = Listener(rec, lambda _e: None)
    signal = np.concatenate([noise(0.5), tone(0.4), noise(0.8), tone(0.5), noise(0.8)])
    names = [e.intent.name for _t, e in run(listener, signal)]
    assert names == ["pause", "resume"]


def _coach_reference(samples: np.ndarray, start: float) -> EchoReference:
    ref = EchoReference()
    ref.started(start, samples, SAMPLE_RATE)
    ref.finished(start + len(samples) / SAMPLE_RATE)
    return ref


@pytest.fixture(scope="module")
def coach_speech() -> np.ndarray:
    renderer = Pyttsx3Renderer()
    speech = renderer.render(
        "Now stop and pause for a moment, then skip ahead and repeat the stretch on the other "
        "side. Ouch, that hurts, is something the person might say.",
        VoiceSettings(rate=165),
    )
    renderer.close()
    return speech.samples


def test_the_coachs_own_rendered_speech_never_reaches_the_recognizer(
    coach_speech: np.ndarray,
) -> None:
    """The coach says words that are commands; played through the room (attenuated, with noise),
    none of it is taken for the person speaking."""
    start = 1.0
    ref = _coach_reference(coach_speech, start)
    mic = np.concatenate([noise(start), noise(len(coach_speech) / SAMPLE_RATE, seed=3), noise(1)])
    echo = (coach_speech.astype(np.float32) * 0.5).astype(np.int16)
    mic[round(start * SAMPLE_RATE) : round(start * SAMPLE_RATE) + len(echo)] += echo
    rec = ScriptedRecognizer(utt("stop"), utt("pause"))
    listener = Listener(rec, lambda _e: None, reference=ref)
    assert run(listener, mic) == []
    assert rec.fed_samples == []


def test_the_same_speech_without_a_reference_is_heard_and_then_gated(
    coach_speech: np.ndarray,
) -> None:
    """Control: without the echo reference the detector does hear the coach, which shows the
    test above is not passing because the audio is too quiet to detect."""
    mic = np.concatenate([noise(1.0), (coach_speech * 0.5).astype(np.int16), noise(1.0)])
    rec = ScriptedRecognizer(*[utt("repeat")] * 20)
    listener = Listener(rec, lambda _e: None)
    run(listener, mic)
    assert rec.fed_samples, "the detector should hear un-referenced speech"


def _person_over_the_coach(
    coach_speech: np.ndarray, start: float = 1.0
) -> tuple[EchoReference, np.ndarray]:
    """The coach's sentence from `start` (its echo at half level) and the person saying something
    1.5 s into it, louder than the echo: the reference and the microphone's signal."""
    ref = _coach_reference(coach_speech, start)
    n = len(coach_speech)
    mic = np.concatenate([noise(start), noise(n / SAMPLE_RATE, seed=4), noise(1.5)]).astype(
        np.int32
    )
    s0 = round(start * SAMPLE_RATE)
    mic[s0 : s0 + n] += (coach_speech * 0.5).astype(np.int32)
    p0 = s0 + round(1.5 * SAMPLE_RATE)
    person = tone(0.5, amp=9000, freq=150)
    mic[p0 : p0 + len(person)] += person
    return ref, np.clip(mic, -32768, 32767).astype(np.int16)


def test_a_person_talking_over_the_coach_is_heard_and_barge_in_gated(
    coach_speech: np.ndarray,
) -> None:
    start = 1.0
    ref, mic16 = _person_over_the_coach(coach_speech, start)

    posted: list[object] = []
    rec = ScriptedRecognizer(utt("pause", 0.9))
    listener = Listener(rec, posted.append, reference=ref)
    fired = run(listener, mic16)
    assert [e.intent.name for _t, e in fired] == ["pause"]
    assert fired[0][1].now == pytest.approx(start + 2.0, abs=0.1)

    assert not fired[0][1].after_speech
    # The same stretch recognized as a non-barge-in command waits for the coach to finish.
    rec2 = ScriptedRecognizer(utt("repeat", 0.99))
    listener2 = Listener(rec2, lambda _e: None, reference=ref)
    [(_t, waits)] = run(listener2, mic16)
    assert waits.intent.name == "repeat" and waits.after_speech


def test_speech_over_the_coach_lowers_its_voice_until_it_proves_no_barge_in(
    coach_speech: np.ndarray,
) -> None:
    """The coach's voice dips as the person starts talking over it. A barge-in leaves it down
    (the cut brings it back); anything else, refused or acted on later, brings it back at the
    end of the speech. Speech with the coach quiet changes nothing."""
    ref, mic16 = _person_over_the_coach(coach_speech)
    for said, expected in [
        (utt("pause", 0.9), [True]),  # a barge-in: the cut restores the voice
        (utt("repeat", 0.99), [True, False]),  # acted on after the coach: back at once
        (utt("pause", 0.2), [True, False]),  # refused: back at once
        (None, [True, False]),  # no command at all
    ]:
        told: list[tuple[bool, float]] = []
        listener = Listener(
            ScriptedRecognizer(said),
            lambda _e: None,
            reference=ref,
            on_voice_over_coach=lambda speaking, t=told: t.append(speaking),
        )
        run(listener, mic16)
        assert told == expected, said

    quiet_coach = np.concatenate([noise(1.0), tone(0.5, amp=9000, freq=150), noise(1.0)])
    told = []
    listener = Listener(
        ScriptedRecognizer(utt("pause", 0.9)),
        lambda _e: None,
        reference=_coach_reference(tone(0.5, amp=3000), 10.0),
        on_voice_over_coach=told.append,
    )
    assert [e.intent.name for _t, e in run(listener, quiet_coach)] == ["pause"]
    assert told == []


def test_a_command_just_after_the_coach_stops_needs_the_barge_in_bar() -> None:
    ref = _coach_reference(tone(1.0, amp=3000), 1.0)  # coach speaks 1.0..2.0
    mic = np.concatenate([noise(2.1), tone(0.4, amp=9000, freq=150), noise(1.0)])
    rec = ScriptedRecognizer(utt("time_left", 0.7))
    listener = Listener(rec, lambda _e: None, reference=ref)
    assert run(listener, mic) == []  # began 0.1 s after the coach stopped: inside the tail
    sure = ScriptedRecognizer(utt("time_left", 0.99))
    [(_t, waits)] = run(Listener(sure, lambda _e: None, reference=ref), mic)
    assert waits.after_speech


def test_a_cue_starting_while_the_words_are_still_being_decoded_counts_as_the_coach() -> None:
    """The words end at 1.0 s; the detector feeds the recognizer 200 ms more before it is sure.
    The coach starts at 1.1 s, so its echo is in what was decoded: only a barge-in cuts it
    short, another command waits for it to finish."""
    ref = _coach_reference(tone(1.0, amp=3000), 1.1)
    mic = np.concatenate([noise(0.6), tone(0.4, amp=9000, freq=150), noise(2.0)])
    later = ScriptedRecognizer(utt("repeat", 0.99))
    [(_t, waits)] = run(Listener(later, lambda _e: None, reference=ref), mic)
    assert waits.after_speech
    barge_in = ScriptedRecognizer(utt("pause", 0.9))
    fired = run(Listener(barge_in, lambda _e: None, reference=ref), mic)
    assert [e.intent.name for _t, e in fired] == ["pause"]
    assert fired[0][1].now == pytest.approx(1.0, abs=0.03)  # still stamped when the words ended


def test_endpoint_detector_learns_the_echo_gain() -> None:
    det = EndpointDetector()
    ref = tone(2.0, amp=3000)
    mic = (ref * 0.3).astype(np.int16)
    for (f, t), (r, _t) in zip(frames(mic), frames(ref), strict=True):
        assert det.push(f, t, r) is None
    assert 0.2 < det.echo_gain < 0.5


def test_endpoint_rules_are_shortened_in_a_copy_of_model_conf() -> None:
    stock = (
        "--sample-frequency=16000\n--endpoint.rule2.min-trailing-silence=0.5\n"
        "--endpoint.rule3.min-trailing-silence=1.0\n--endpoint.rule4.min-trailing-silence=2.0\n"
        "--endpoint.rule1.min-trailing-silence=5.0\n"
    )
    tuned = tune_endpoint_conf(stock)
    assert "--endpoint.rule2.min-trailing-silence=0.25" in tuned
    assert "--endpoint.rule3.min-trailing-silence=0.5" in tuned
    assert "--endpoint.rule4.min-trailing-silence=1" in tuned
    assert "--endpoint.rule1.min-trailing-silence=5.0" in tuned
    assert "--sample-frequency=16000" in tuned


# --- with the real model -----------------------------------------------------------------------


# Vosk only: PocketSphinx hears this espeak-ng "pause" (150 wpm) as "full session" even alone;
# with the coach's echo taken out (to the room noise), "pause please" still came out wrong.
@pytest.mark.vosk
def test_real_model_coach_speech_fires_nothing_and_pause_over_it_fires_pause(
    command_recognizer, espeak, coach_speech: np.ndarray
) -> None:
    from voicecoach.wavio import read_wav

    start = 1.0
    ref = _coach_reference(coach_speech, start)
    n = len(coach_speech)
    s0 = round(start * SAMPLE_RATE)
    base = np.concatenate([noise(start), noise(n / SAMPLE_RATE, seed=5), noise(1.5)]).astype(
        np.int32
    )
    base[s0 : s0 + n] += (coach_speech * 0.5).astype(np.int32)

    command_recognizer.reset()
    listener = Listener(command_recognizer, lambda _e: None, reference=ref)
    assert run(listener, np.clip(base, -32768, 32767).astype(np.int16)) == []

    person = read_wav(espeak("pause", rate=150)).astype(np.int32)
    p0 = s0 + round(1.2 * SAMPLE_RATE)
    mixed = base.copy()
    mixed[p0 : p0 + len(person)] += person
    command_recognizer.reset()
    listener = Listener(command_recognizer, lambda _e: None, reference=ref)
    fired = run(listener, np.clip(mixed, -32768, 32767).astype(np.int16))
    assert [e.intent.name for _t, e in fired] == ["pause"], [
        (h.utterance.text if h.utterance else None, h.decision.reason) for h in listener.heard
    ]


def test_real_model_a_wav_of_commands_drives_the_session(speech_engine, espeak, tmp_path) -> None:
    command_recognizer = speech_engine
    from voicecoach.routines import RoutineLibrary
    from voicecoach.session import Session
    from voicecoach.wavio import read_wav, write_wav

    lines = ["start hip routine", "pause", "resume", "how long left", "stop"]
    parts = [noise(0.8)]
    for line in lines:
        parts += [read_wav(espeak(line, rate=150)), noise(1.2, seed=len(parts))]
    wav = write_wav(tmp_path / "commands.wav", np.concatenate(parts))
    signal = read_wav(wav)

    session = Session(RoutineLibrary.load(), checkins=False, settle_s=0.5)
    states: list[str] = []

    def post(event: object) -> None:
        session.handle(event)  # type: ignore[arg-type]
        states.append(session.state)

    command_recognizer.reset()
    listener = Listener(command_recognizer, post)
    fired = run(listener, signal)
    assert [e.intent.name for _t, e in fired] == [
        "start_routine",
        "pause",
        "resume",
        "time_left",
        "stop",
    ]
    assert "paused" in states
    assert states[-1] in ("stopped", "summary")


class PartialRecognizer(ScriptedRecognizer):
    """Also answers partial(): the words so far, one more phrase at each end of speech."""

    def __init__(self, partials: list[str], final: Utterance) -> None:
        super().__init__(final)
        self._partials = partials
        self.asked = 0

    def partial(self) -> str:
        self.asked += 1
        return self._partials[min(self.asked, len(self._partials)) - 1]


def _complete(text: str) -> bool:
    from voicecoach.grammar import load_grammar

    return load_grammar().match(text) is not None


def test_a_pause_inside_a_command_does_not_cut_it_in_two() -> None:
    signal = np.concatenate([noise(0.5), tone(0.4), noise(0.35), tone(0.4), noise(1.5)])
    final = Utterance("add five minutes", Intent("extend", {"seconds": 300}), 0.9)

    rec = PartialRecognizer(["add five", "add five minutes"], final)
    fired = run(Listener(rec, lambda _e: None, complete=_complete), signal)
    assert [e.intent.name for _t, e in fired] == ["extend"]
    assert len(rec.fed_samples) == 1  # one utterance, flushed once
    dispatched_at, event = fired[0]
    assert event.now == pytest.approx(1.65, abs=0.03)
    assert dispatched_at - event.now <= 0.25  # a whole command: no extra wait

    # Without the partial check the breath ends the utterance: two halves, neither a command.
    halves = ScriptedRecognizer(utt(None), utt(None))
    assert run(Listener(halves, lambda _e: None), signal) == []
    assert len(halves.fed_samples) == 2


def test_an_unfinished_phrase_is_decided_after_the_longest_pause() -> None:
    signal = np.concatenate([noise(0.5), tone(0.4), noise(1.5)])
    rec = PartialRecognizer(["add five"], utt(None))
    listener = Listener(rec, lambda _e: None, complete=_complete)
    decided_at = None
    for frame, t_end in frames(signal):
        listener.feed(frame, t_end)
        if listener.heard and decided_at is None:
            decided_at = t_end
    assert len(rec.fed_samples) == 1
    assert listener.heard[0].segment.end == pytest.approx(0.9, abs=0.03)  # words ended at 0.9
    assert decided_at == pytest.approx(0.9 + 0.6, abs=0.03)  # after the longest pause
    assert listener.heard[0].decision.reason == "not a command"


def test_a_whole_command_is_not_delayed_by_the_partial_check() -> None:
    signal = np.concatenate([noise(0.5), tone(0.4), noise(1.0)])
    rec = PartialRecognizer(["pause"], utt("pause"))
    fired = run(Listener(rec, lambda _e: None, complete=_complete), signal)
    assert [(round(t - e.now, 2), e.intent.name) for t, e in fired] == [(0.2, "pause")]


def test_a_late_echo_of_the_coach_is_not_taken_for_the_person() -> None:
    """The room returns the coach's voice 80 ms late: as each burst of it ends, the reference is
    already silent while the microphone still hears it. (With no lag allowance, each of the six
    burst ends is taken for the person starting to speak.)"""
    bursts = np.concatenate([np.concatenate([tone(0.3, amp=6000), np.zeros(1600, np.int16)])] * 6)
    ref = _coach_reference(bursts, 1.0)
    lag = round(0.08 * SAMPLE_RATE)
    mic = np.concatenate([noise(1.0), noise(len(bursts) / SAMPLE_RATE + 1.0, seed=9)]).astype(
        np.int32
    )
    s0 = SAMPLE_RATE + lag
    mic[s0 : s0 + len(bursts)] += (bursts * 0.5).astype(np.int32)
    rec = ScriptedRecognizer(*[utt("skip")] * 10)
    listener = Listener(rec, lambda _e: None, reference=ref)
    assert run(listener, mic.astype(np.int16)) == []
    assert rec.fed_samples == []
    control = ScriptedRecognizer(*[utt("skip")] * 10)
    run(Listener(control, lambda _e: None, reference=ref, echo_lag_s=0.0), mic.astype(np.int16))
    assert len(control.fed_samples) == 6


class _FlakyRecognizer(ScriptedRecognizer):
    """Raises on the first utterance's audio (a decoder error), then works."""

    def __init__(self, *results: Utterance | None) -> None:
        super().__init__(*results)
        self.raised = 0

    def accept(self, chunk: bytes) -> Utterance | None:
        if self.raised == 0:
            self.raised += 1
            raise RuntimeError("decoder blew up")
        return super().accept(chunk)


def test_a_failing_frame_costs_one_utterance_not_the_listener_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import threading

    signal = np.concatenate([noise(0.5), tone(0.4), noise(0.8), tone(0.5), noise(0.8)])
    rec = _FlakyRecognizer(utt("resume"))
    posted: list[object] = []
    listener = Listener(rec, posted.append)
    with caplog.at_level("WARNING", logger="voicecoach.listener"):
        listener.run(frames(signal), threading.Event())  # returns; never raises
    assert rec.raised == 1
    assert [e.intent.name for e in posted] == ["resume"]  # the next command is still heard
    assert "listener failed on a frame" in caplog.text


def test_what_was_heard_is_kept_bounded_over_a_long_session() -> None:
    from voicecoach.listener import HEARD_KEPT

    burst = np.concatenate([tone(0.3), noise(0.4)])
    signal = np.concatenate([noise(0.3), *[burst] * (HEARD_KEPT + 10)])
    rec = ScriptedRecognizer(*[utt(None)] * (HEARD_KEPT + 10))
    listener = Listener(rec, lambda _e: None)
    run(listener, signal)
    assert len(rec.fed_samples) == HEARD_KEPT + 10
    assert len(listener.heard) == HEARD_KEPT


class PreparingRecognizer(ScriptedRecognizer):
    """Also prepare(): records how much audio it had been fed each time it was asked."""

    def __init__(self, *results: Utterance | None) -> None:
        super().__init__(*results)
        self.prepared_at: list[int] = []
        self.quiet_s: list[float] = []

    def prepare(self, quiet_s: float) -> None:
        self.prepared_at.append(self._current)
        self.quiet_s.append(quiet_s)


def test_a_pause_starts_the_decode_and_the_quiet_after_it_is_not_fed() -> None:
    rec = PreparingRecognizer(utt("repeat"))
    signal = np.concatenate([noise(1.0), tone(0.6) + noise(0.6, seed=1), noise(1.0, seed=2)])
    fired = run(Listener(rec, lambda _e: None), signal)
    assert [e.intent.name for _t, e in fired] == ["repeat"]
    # Asked once, 60 ms into the quiet; the flush came with nothing fed since.
    assert len(rec.prepared_at) == 1
    assert rec.fed_samples == rec.prepared_at
    words = round(0.6 * SAMPLE_RATE)
    assert words <= rec.prepared_at[0] <= words + round(0.4 * SAMPLE_RATE)  # + pre-roll, 60 ms
    assert rec.quiet_s == [pytest.approx(0.14)]  # the rest of the 200 ms hangover, as quiet


def test_speech_after_a_prepared_pause_gets_the_held_frames_too() -> None:
    """A stop closure or a breath longer than 60 ms: the decode was for nothing, and every
    frame, the held quiet ones included, still reaches the recognizer in order."""
    rec = PreparingRecognizer(utt("extend"))
    plain = ScriptedRecognizer(utt("extend"))
    signal = np.concatenate([noise(0.5), tone(0.4), noise(0.15), tone(0.4), noise(1.0)])
    fired = run(Listener(rec, lambda _e: None), signal)
    run(Listener(plain, lambda _e: None), signal)
    assert [e.intent.name for _t, e in fired] == ["extend"]
    assert len(rec.prepared_at) == 2  # at the breath, and at the end
    assert rec.fed_samples[0] == rec.prepared_at[1]
    # Everything up to the second prepare was fed: the same as without preparing, less the
    # quiet tail after the last prepare (held back and dropped).
    assert plain.fed_samples[0] - rec.fed_samples[0] == round(0.2 * SAMPLE_RATE) - round(
        0.06 * SAMPLE_RATE
    )


def test_a_long_stretch_of_talk_is_not_prepared_at_its_pauses() -> None:
    rec = PreparingRecognizer(utt(None))
    parts = [noise(0.5)]
    for _ in range(8):  # 4 s of talk with short pauses
        parts += [tone(0.4), noise(0.1)]
    parts.append(noise(1.0))
    run(Listener(rec, lambda _e: None), np.concatenate(parts))
    assert len(rec.fed_samples) == 1
    # Pauses in the first 3 s only, and then the end is decoded at the flush as before.
    assert 1 <= len(rec.prepared_at) <= 6


def test_no_prepared_decode_while_the_coach_is_speaking() -> None:
    """A decode holds the GIL; over the coach it would starve the coach's own output."""
    rec = PreparingRecognizer(utt("stop"))
    signal = np.concatenate([noise(0.5), tone(0.4, amp=9000), noise(1.0, seed=2)])
    coach = (tone(3.0, amp=300, freq=330)).astype(np.int16)
    listener = Listener(rec, lambda _e: None, reference=_coach_reference(coach, 0.0), echo=None)
    run(listener, signal)
    assert rec.prepared_at == []
    assert len(rec.fed_samples) == 1


class _FakeVoice:
    """A voice check that calls a frame a voice when its pitch is low (the test's 'person' is
    a 150 Hz tone; the 'fan' is white noise)."""

    def __init__(self) -> None:
        self.fed = 0
        self.resets = 0

    def probability(self, frame: np.ndarray) -> float | None:
        self.fed += 1
        spectrum = np.abs(np.fft.rfft(frame.astype(np.float64)))
        peak_hz = float(np.argmax(spectrum)) * SAMPLE_RATE / frame.size
        return 0.9 if peak_hz < 400 else 0.1

    def reset(self) -> None:
        self.resets += 1


def test_steady_noise_is_no_utterance_with_a_voice_check_and_speech_in_it_ends() -> None:
    """A fan switched on (loud white noise from the first frame): to the energy test it is one
    utterance that never ends; with the voice check it is none, and words said over it start
    and end as words."""
    loud_noise = noise(3.0, amp=2000, seed=5)
    words = loud_noise.astype(np.int32)
    words[SAMPLE_RATE : SAMPLE_RATE + SAMPLE_RATE // 2] += tone(0.5, amp=20000, freq=150)
    words = np.clip(words, -32768, 32767).astype(np.int16)

    energy = EndpointDetector()
    assert [w for f, t in frames(loud_noise) if (w := energy.push(f, t))] == ["start"]

    voice = _FakeVoice()
    checked = EndpointDetector(voice=voice)
    assert [w for f, t in frames(loud_noise) if (w := checked.push(f, t))] == []
    said = [(w, t) for f, t in frames(words) if (w := checked.push(f, t))]
    assert [w for w, _ in said] == ["start", "end"]
    assert said[0][1] == pytest.approx(1.06, abs=0.05)
    assert said[1][1] == pytest.approx(1.5 + checked.hangover_s, abs=0.05)


def test_the_voice_check_costs_nothing_in_quiet() -> None:
    voice = _FakeVoice()
    detector = EndpointDetector(voice=voice)
    for f, t in frames(noise(5.0)):  # a quiet room: never loud enough to ask
        detector.push(f, t)
    assert voice.fed == 0


@pytest.mark.model
def test_silero_tells_a_voice_from_a_fan(speech) -> None:
    from voicecoach.asr.silero import SileroVoice

    voice = SileroVoice()
    probabilities = [voice.probability(f) for f, _t in frames(speech("add five minutes"))]
    assert max(p for p in probabilities if p is not None) > 0.9
    voice.reset()
    fan = noise(2.0, amp=2000, seed=6)
    probabilities = [voice.probability(f) for f, _t in frames(fan)]
    assert max(p for p in probabilities if p is not None) < 0.35
