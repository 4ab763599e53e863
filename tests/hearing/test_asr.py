"""The recognizer on real speech: espeak-ng commands and distractors through the real Vosk model.

Model tests are marked `model`; in CI they fail (not skip) without a model, unless
scripts/fetch-model recorded the model as unavailable. The rejection rules are also tested
without a model, on Vosk-shaped results.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from voicecoach.hearing.asr.baselines import keyword_search, keyword_table
from voicecoach.hearing.asr.vosk import VoskEngine
from voicecoach.hearing.grammar import load_grammar
from voicecoach.hearing.wavio import read_wav
from voicecoach.messages import Intent

COMMANDS: list[tuple[str, Intent]] = [
    ("start hip routine", Intent("start_routine", {"routine": "hip"})),
    ("start the release routine", Intent("start_routine", {"routine": "release"})),
    ("let's do the hip stretch", Intent("start_routine", {"routine": "hip"})),
    ("start the full routine", Intent("start_routine", {"routine": "full"})),
    ("I'm ready", Intent("ready")),
    ("let's go", Intent("ready")),
    ("repeat that", Intent("repeat")),
    ("say that again", Intent("repeat")),
    ("skip this one", Intent("skip")),
    ("next", Intent("skip")),
    ("go back", Intent("back")),
    ("add five minutes", Intent("extend", {"seconds": 300})),
    ("give me two more minutes", Intent("extend", {"seconds": 120})),
    ("add thirty seconds", Intent("extend", {"seconds": 30})),
    ("add a minute", Intent("extend", {"seconds": 60})),
    ("extend", Intent("extend")),
    ("pause", Intent("pause")),
    ("hold on", Intent("pause")),
    ("resume", Intent("resume")),
    ("keep going", Intent("resume")),
    ("stop", Intent("stop")),
    ("end session", Intent("stop")),
    ("how long left", Intent("time_left")),
    ("how much longer", Intent("time_left")),
    ("help", Intent("help")),
    ("what can I say", Intent("help")),
    ("slower", Intent("slower")),
    ("faster", Intent("faster")),
    ("louder", Intent("louder")),
    ("quieter", Intent("quieter")),
    ("ouch", Intent("pain")),
    ("that hurts", Intent("pain")),
    ("about six", Intent("rating", {"value": 6})),
    ("it's a three", Intent("rating", {"value": 3})),
]

DISTRACTORS = [
    "then switch legs and repeat",
    "move slower than you think you need to",
    "slowly slide the heel back up",
    "hold the stretch for twenty to thirty seconds",
    "breathe in deeply and let your shoulders drop",
    "we will add five minutes at the end of the session",
    "stop if you feel any sharp pain in the knee",
    "keep going until you hear the bell",
    "the weather is lovely today",
    "next we will work on the other side of the body",
]

VOICES = ["en-us", "en", "en+f3"]
RATES = [140, 175]
PITCHES = [40, 60]
ALL_VARIANTS = list(itertools.product(VOICES, RATES, PITCHES))
# The fast run: three variants that between them use every voice, rate and pitch.
QUICK_VARIANTS = [("en-us", 140, 40), ("en", 175, 60), ("en+f3", 140, 60)]


def _ids(variant: tuple[str, int, int]) -> str:
    return "{}-r{}-p{}".format(*variant)


@pytest.mark.vosk
@pytest.mark.parametrize("variant", QUICK_VARIANTS, ids=_ids)
@pytest.mark.parametrize(("text", "intent"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_commands_are_recognized(command_recognizer, espeak, text, intent, variant) -> None:
    voice, rate, pitch = variant
    utterance = command_recognizer.decode(read_wav(espeak(text, voice, rate, pitch)))
    assert utterance.intent == intent, utterance.text
    assert 0.0 < utterance.confidence <= 1.0
    assert utterance.decode_ms > 0


@pytest.mark.vosk
@pytest.mark.slow
@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=_ids)
def test_commands_in_every_voice_rate_and_pitch(command_recognizer, espeak, variant) -> None:
    voice, rate, pitch = variant
    wrong = []
    for text, intent in COMMANDS:
        utterance = command_recognizer.decode(read_wav(espeak(text, voice, rate, pitch)))
        if utterance.intent != intent:
            wrong.append((text, utterance.text, utterance.intent))
    assert wrong == []


@pytest.mark.vosk
@pytest.mark.parametrize("variant", QUICK_VARIANTS, ids=_ids)
@pytest.mark.parametrize("text", DISTRACTORS)
def test_non_commands_give_no_intent(command_recognizer, espeak, text, variant) -> None:
    voice, rate, pitch = variant
    utterance = command_recognizer.decode(read_wav(espeak(text, voice, rate, pitch)))
    assert utterance.intent is None, utterance.text


@pytest.mark.vosk
def test_silence_and_noise_give_no_intent(command_recognizer) -> None:
    rng = np.random.default_rng(7)
    silence = np.zeros(16000, dtype=np.int16)
    noise = (rng.normal(0, 2000, 32000)).astype(np.int16)
    assert command_recognizer.decode(silence).intent is None
    assert command_recognizer.decode(noise).intent is None


@pytest.mark.vosk
def test_streaming_gives_the_same_intent(command_recognizer, espeak) -> None:
    pcm = read_wav(espeak("add five minutes"))
    padded = np.concatenate([np.zeros(8000, np.int16), pcm, np.zeros(16000, np.int16)])
    command_recognizer.reset()
    results = []
    partials = []
    for start in range(0, len(padded), 1600):  # 100 ms chunks, as the live loop feeds them
        utterance = command_recognizer.accept(padded[start : start + 1600].tobytes())
        partials.append(command_recognizer.partial())
        if utterance is not None:
            results.append(utterance)
    final = command_recognizer.flush()
    if final is not None:
        results.append(final)
    assert [u.intent for u in results if u.intent] == [Intent("extend", {"seconds": 300})]
    assert all(isinstance(p, str) for p in partials)
    assert any(p for p in partials)
    command_recognizer.reset()
    assert command_recognizer.flush() is None


@pytest.mark.vosk
def test_unknown_grammar_words_are_left_out_of_the_phrase_list(vosk_model) -> None:
    grammar = load_grammar(routine_names={"zqxjv": "nonsense"})
    recognizer = VoskEngine(vosk_model, grammar)
    assert "zqxjv" in recognizer.unknown_words
    assert not [p for p in recognizer.phrases if "zqxjv" in p.split()]
    assert "add five minutes" in recognizer.phrases and recognizer.phrases[-1] == "[unk]"


# --- rejection rules on Vosk-shaped results (no model needed) ----------------------------------


@pytest.fixture(scope="module")
def judge():
    recognizer = object.__new__(VoskEngine)
    recognizer.grammar = load_grammar()
    recognizer.min_word_confidence = 0.6
    return recognizer.judge


def _words(text: str, conf: float = 1.0) -> list[dict]:
    return [{"word": w, "conf": conf, "start": 0.0, "end": 0.1} for w in text.split()]


def test_judge_accepts_a_confident_whole_command(judge) -> None:
    assert judge("add five minutes", _words("add five minutes")) == Intent(
        "extend", {"seconds": 300}
    )


def test_judge_rejects_one_doubtful_word(judge) -> None:
    words = _words("add five minutes")
    words[1]["conf"] = 0.4
    assert judge("add five minutes", words) is None


def test_judge_rejects_unk_anywhere(judge) -> None:
    assert judge("[unk] stop", _words("[unk] stop")) is None
    assert judge("stop", [*_words("stop"), {"word": "[unk]", "conf": 1.0}]) is None


def test_judge_rejects_grammar_words_in_a_non_grammar_order(judge) -> None:
    # Vosk's grammar mode can emit any sequence of grammar words: only whole sentences count.
    assert judge("stop add repeat", _words("stop add repeat")) is None
    assert judge("minutes five add", _words("minutes five add")) is None


def test_judge_rejects_results_without_word_details(judge) -> None:
    assert judge("stop", []) is None


def test_keyword_baseline_fires_inside_sentences() -> None:
    """The naive approach the benchmark compares against: a command phrase anywhere fires."""
    table = keyword_table(load_grammar())
    assert keyword_search(table, "then switch legs and repeat") == Intent("repeat")
    assert keyword_search(table, "please add five minutes now") == Intent(
        "extend", {"seconds": 300}
    )
    assert keyword_search(table, "the weather is lovely") is None


# --- British variants of the CMU dictionary's American pronunciations (pure) -----------------


@pytest.mark.parametrize(
    ("phones", "variants"),
    [
        ("F AE S T ER", ["F AE S T AH", "F AA S T AH"]),  # faster: no r, then the broad a
        ("L AW D ER", ["L AW D AH"]),  # louder
        ("HH IY R", ["HH IY AH"]),  # here: a centring schwa where the r was
        ("S T AA R T", ["S T AA T"]),  # start
        ("K AE N T", ["K AA N T"]),  # can't: broad a alone
        ("R EH D IY", []),  # ready: an r before a vowel is said
        ("S T AA R IH NG", []),  # starring: the r is before a vowel
        ("HH IH P", []),  # hip
    ],
)
def test_british_variants(phones: str, variants: list[str]) -> None:
    from voicecoach.hearing.asr.pronunciations import british_variants

    assert [" ".join(v) for v in british_variants(phones.split())] == variants
