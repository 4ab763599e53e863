"""Real speech on every engine present: espeak-ng voices, rates and pitches, every intent with its
slots, sentences with command words inside, the coach's own sentences, silence and noise.

The `speech_engine` fixture marks its PocketSphinx cases `model` (its model ships in its wheel, so
they run, and must pass, everywhere) and its Vosk cases `vosk` (they skip only without its model).
Accuracy figures are the bench's (bench/recognition.py); the floors here are behaviour: an engine
that stops hearing, or starts firing on chatter, fails them.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.hearing.test_asr import COMMANDS
from voicecoach.hearing.asr.distractors import coach_sentences
from voicecoach.hearing.gate import GatePolicy, gate
from voicecoach.hearing.grammar import load_grammar
from voicecoach.messages import Intent

VARIANTS = [("en-us", 150, 50), ("en", 130, 30), ("en+m3", 180, 60), ("en+f3", 200, 70)]
"""Voices, rates 130-200 and pitches 30-70: each command is said in every one."""

# Non-commands with command words inside: a grammar search must not fire on them.
WITH_COMMAND_WORDS = [
    "then switch legs and repeat",
    "we will add five minutes at the end of the session",
    "stop if you feel any sharp pain in the knee",
    "keep going until you hear the bell",
    "next we will work on the other side of the body",
    "the weather is lovely today",
    "can you pass me the water bottle",
    "i think the kettle has boiled",
]

KNOWN_POCKETSPHINX_FAILURES = {
    # Strict: each must fail today; when one starts passing, drop it here. Measured on this
    # machine; what limits them is PocketSphinx's acoustic model on synthesized voices and a
    # rejection that only knows the coach's own sentences (see the bench and the README).
    "test_commands_in_each_voice[pocketsphinx-en+f3-r200-p70]": "47% of commands right in the "
    "fast high female voice",
}


@pytest.fixture(autouse=True)
def _known_failures(request: pytest.FixtureRequest) -> None:
    reason = KNOWN_POCKETSPHINX_FAILURES.get(request.node.name)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"known defect: {reason}"))


FLOORS = {
    # (commands right, most false accepts among the coach's sentences) per engine. Vosk's are the
    # old per-case tests' (every command right); PocketSphinx's as measured here with margin,
    # limited by its acoustic model on synthesized voices (see bench/recognition.py).
    "vosk": (1.0, 0.0),
    "pocketsphinx": (0.6, 0.1),
    # Whisper: 12 of 70 of the coach's sentences fired on their own (pain mostly: the engine is
    # biased that way on purpose); the gate, told the coach is saying them, passes barge-ins only.
    "whisper": (0.7, 0.2),
}


def _ids(variant: tuple[str, int, int]) -> str:
    return "{}-r{}-p{}".format(*variant)


@pytest.mark.parametrize("variant", VARIANTS, ids=_ids)
def test_commands_in_each_voice(speech_engine, speech, variant) -> None:
    wrong = []
    for text, intent in COMMANDS:
        utterance = speech_engine.decode(speech(text, *variant))
        assert utterance.engine == speech_engine.name
        if utterance.intent != intent:
            wrong.append((text, utterance.text))
        else:
            assert 0.0 < utterance.confidence <= 1.0
            assert utterance.words and all(w.end_s > w.start_s for w in utterance.words)
    floor = FLOORS[speech_engine.name][0]
    right = 1 - len(wrong) / len(COMMANDS)
    assert right >= floor, f"{right:.0%} right; wrong: {wrong}"


def test_slots_come_through(speech_engine, speech) -> None:
    """Amounts and ratings in the voice the engines hear best: the slot values, not just the
    intent."""
    cases = [
        ("add five minutes", Intent("extend", {"seconds": 300})),
        ("add thirty seconds", Intent("extend", {"seconds": 30})),
        ("give me two more minutes", Intent("extend", {"seconds": 120})),
        ("start hip routine", Intent("start_routine", {"routine": "hip"})),
        ("start the release routine", Intent("start_routine", {"routine": "release"})),
        ("about six", Intent("rating", {"value": 6})),
    ]
    got = [(text, speech_engine.decode(speech(text)).intent) for text, _ in cases]
    assert got == cases


def test_sentences_with_command_words_inside(speech_engine, speech) -> None:
    fired = []
    for text in WITH_COMMAND_WORDS:
        for variant in VARIANTS[:2]:
            utterance = speech_engine.decode(speech(text, *variant))
            if utterance.intent is not None:
                fired.append((text, utterance.text))
    assert len(fired) <= len(WITH_COMMAND_WORDS) * 2 * 0.5, fired


@pytest.mark.slow
def test_the_coachs_own_sentences(speech_engine, speech) -> None:
    """Said by the coach's own voice (en-us): alone they rarely fire; through the listener's
    gate, with the coach known to be saying them, none cuts it but a barge-in."""
    sentences = coach_sentences(load_grammar())
    assert len(sentences) > 50
    sample = sentences[:: max(1, len(sentences) // 60)]
    fired = []
    for text in sample:
        utterance = speech_engine.decode(speech(text, "en-us", 170, 50))
        if utterance.intent is not None:
            fired.append((text, utterance.text))
            decision = gate(utterance, coach_active=True, policy=GatePolicy(), coach_said=[text])
            # Over the coach only a barge-in acts at once; any other command waits until the
            # coach has finished (issue 19), never cutting it.
            assert (
                not decision.accept
                or utterance.intent.name in GatePolicy().barge_in
                or decision.after_speech
            ), text
    assert len(fired) <= FLOORS[speech_engine.name][1] * len(sample), fired


def test_silence_and_noise_give_no_intent(speech_engine) -> None:
    rng = np.random.default_rng(7)
    assert speech_engine.decode(np.zeros(16000, dtype=np.int16)).intent is None
    assert speech_engine.decode(rng.normal(0, 2000, 32000).astype(np.int16)).intent is None


def test_streaming_gives_the_same_intent(speech_engine, speech) -> None:
    pcm = speech("add five minutes")
    speech_engine.reset()
    partials = []
    for start in range(0, len(pcm), 1600):  # 100 ms chunks, as the live loop feeds them
        speech_engine.accept(pcm[start : start + 1600].tobytes())
        partials.append(speech_engine.partial())
    final = speech_engine.flush()
    assert final is not None and final.intent == Intent("extend", {"seconds": 300})
    assert any(partials)
    assert partials[-1] == final.text  # the last partial is the result, decoded already
    speech_engine.reset()
    assert speech_engine.flush() is None


@pytest.mark.model
@pytest.mark.parametrize("seed", [1, 2])
def test_a_fresh_engine_hears_the_same_in_20_ms_frames_as_in_blocks(espeak, seed: int) -> None:
    """The first utterance a PocketSphinx decoder ever hears, fed as the listener feeds it (20 ms
    frames) and as `recognize` feeds a file (0.25 s blocks), must give one answer: the decoder's
    CMN took its first estimate from the first block, and fed frame by frame the demo's opening
    "start the hip routine" was heard as "full body routine" while `recognize` heard it right."""
    from voicecoach.hearing.asr.pocketsphinx import PocketSphinxEngine
    from voicecoach.hearing.wavio import read_wav

    words = read_wav(espeak("start the hip routine", "en-us", 150, 60)).astype(np.float64)
    x = np.concatenate([np.zeros(3200), words, np.zeros(3200)])  # 0.2 s of room either side
    x += np.random.default_rng(seed).normal(0, 30, x.size)
    pcm = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    grammar = load_grammar()
    by_blocks = PocketSphinxEngine(grammar).decode(pcm)
    live = PocketSphinxEngine(grammar)
    for start in range(0, len(pcm), 320):
        live.accept(pcm[start : start + 320].tobytes())
    by_frames = live.flush()
    assert by_frames is not None
    assert (by_frames.text, by_frames.intent) == (by_blocks.text, by_blocks.intent)


@pytest.mark.model
def test_a_sessions_first_command_is_heard_on_a_fresh_decoder(speech) -> None:
    """Every session starts with a command to a decoder that has heard nothing yet (its cepstral
    mean still the model's generic start): that first command must be heard like later ones. On
    fresh decoders 2 of 34 commands were right before the decoder re-decoded its first seconds."""
    from voicecoach.hearing.asr.pocketsphinx import PocketSphinxEngine

    grammar = load_grammar()
    cases = [
        ("start the hip routine", Intent("start_routine", {"routine": "hip"})),
        ("start the release routine", Intent("start_routine", {"routine": "release"})),
        ("ready", Intent("ready")),
        ("pause", Intent("pause")),
        ("how long left", Intent("time_left")),
        ("add five minutes", Intent("extend", {"seconds": 300})),
    ]
    right = [
        text
        for text, intent in cases
        if PocketSphinxEngine(grammar).decode(speech(text)).intent == intent
    ]
    assert len(right) >= 5, right


@pytest.mark.model
def test_the_phone_loop_ratio_rejects_chatter_the_grammar_search_takes(speech) -> None:
    """The same grammar search with and without the likelihood ratio against a free phone
    decode: with it, fewer of the non-commands fire, a rejection says why, and the commands the
    search alone hears right are still heard."""
    from voicecoach.hearing.asr.pocketsphinx import PocketSphinxEngine

    grammar = load_grammar()
    checked = PocketSphinxEngine(grammar)
    bare = PocketSphinxEngine(grammar, min_log_ratio=None)
    chatter = [speech(t, *v) for t in WITH_COMMAND_WORDS for v in VARIANTS[:2]]
    fired_bare = [u for u in map(bare.decode, chatter) if u.intent is not None]
    heard = [checked.decode(pcm) for pcm in chatter]
    fired_checked = [u for u in heard if u.intent is not None]
    assert len(fired_checked) < len(fired_bare), (fired_checked, fired_bare)
    assert any("free phones" in u.rejected for u in heard)
    commands = [(speech(text, *VARIANTS[0]), intent) for text, intent in COMMANDS]
    right_bare = sum(bare.decode(pcm).intent == intent for pcm, intent in commands)
    right_checked = sum(checked.decode(pcm).intent == intent for pcm, intent in commands)
    assert right_checked >= right_bare - 1, (right_checked, right_bare)


@pytest.mark.model
def test_every_grammar_word_has_a_pronunciation(pocketsphinx_engine) -> None:
    """In the CMU dictionary or in grammars/en-pronunciations.dict: never a dropped phrase."""
    from voicecoach.hearing.asr.pocketsphinx import bundled_model, make_decoder
    from voicecoach.hearing.asr.pronunciations import read_pronunciations
    from voicecoach.routines import RoutineLibrary

    decoder = make_decoder(bundled_model())
    extra = read_pronunciations()
    words = load_grammar(routine_names=RoutineLibrary.load().spoken_names()).words()
    missing = sorted(w for w in words if decoder.lookup_word(w) is None and w not in extra)
    assert missing == []
    assert {"psoas", "flexor"} <= set(pocketsphinx_engine.added_words)


@pytest.mark.model
def test_recognize_sample_json_says_pocketsphinx_when_asked_for(tmp_path) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "VOICECOACH_CONFIG_DIR": str(tmp_path / "config")}
    env.pop("VOICECOACH_MODEL", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicecoach",
            "recognize",
            "--engine",
            "pocketsphinx",
            "--sample",
            "add five minutes",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout.splitlines()[-1])
    assert (record["intent"], record["slots"], record["engine"]) == (
        "extend",
        {"seconds": 300},
        "pocketsphinx",
    )
