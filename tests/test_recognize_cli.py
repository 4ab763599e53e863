"""`voicecoach recognize`: per-file errors that do not stop the others, the --json contract.

The first tests replace the recognizer with a stub (they check the command's plumbing: errors,
exit codes, output format); the model-marked tests run the real model on espeak-ng speech.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from voicecoach import cli
from voicecoach.hearing import asr
from voicecoach.hearing.wavio import write_wav
from voicecoach.messages import Intent, Utterance

JSON_KEYS = ["file", "text", "intent", "slots", "confidence", "decode_ms", "engine"]


class StubRecognizer:
    """Stands in for the opened engine: says every file held "add five minutes"."""

    name = "stub"

    def __init__(self, choice, grammar) -> None:
        self.calls: list[int] = []

    def decode(self, pcm: np.ndarray) -> Utterance:
        self.calls.append(len(pcm))
        return Utterance("add five minutes", Intent("extend", {"seconds": 300}), 0.91, 12.5)


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    loads: list[str] = []
    monkeypatch.setattr(
        asr,
        "choose_engine",
        lambda *a, **k: asr.EngineChoice("stub", tmp_path, "the test"),
    )
    monkeypatch.setattr(
        asr,
        "open_engine",
        lambda choice, grammar, **k: (
            loads.append(str(choice.model_dir)) or StubRecognizer(choice, grammar)
        ),
    )
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    return loads


def _without_engine_line(err: str) -> str:
    """stderr less the one line saying which engine listens (its own test checks it)."""
    lines = err.splitlines(keepends=True)
    assert lines and lines[0].startswith("voicecoach: listening with "), err
    return "".join(lines[1:])


def _tone_wav(path: Path) -> Path:
    t = np.arange(8000) / 16000
    return write_wav(path, (3000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16))


def test_bad_file_is_one_line_and_the_others_still_run(stubbed, tmp_path, capsys) -> None:
    good1 = _tone_wav(tmp_path / "a.wav")
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not a wav")
    good2 = _tone_wav(tmp_path / "b.wav")
    code = cli.main(
        ["recognize", "--json", str(good1), str(bad), str(tmp_path / "gone.wav"), str(good2)]
    )
    out, err = capsys.readouterr()
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["file"] for r in records] == [str(good1), str(good2)]
    err_lines = err.splitlines()
    assert err_lines[0].startswith("voicecoach: listening with stub: model ")  # said once
    assert err_lines[1].startswith(f"voicecoach: {bad}: not a readable PCM WAV")
    assert err_lines[2] == f"voicecoach: {tmp_path / 'gone.wav'}: no such file"
    assert err_lines[3] == "voicecoach: 2 of 4 files could not be read"
    assert "Traceback" not in err
    assert stubbed == [str(tmp_path)]  # the model is loaded once


def test_json_lines_have_exactly_the_contract_keys(stubbed, tmp_path, capsys) -> None:
    wav = _tone_wav(tmp_path / "a.wav")
    assert cli.main(["recognize", "--json", str(wav)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert list(record) == JSON_KEYS
    assert record == {
        "file": str(wav),
        "text": "add five minutes",
        "intent": "extend",
        "slots": {"seconds": 300},
        "confidence": 0.91,
        "decode_ms": 12.5,
        "engine": "stub",
    }


def test_plain_output_is_one_readable_line(stubbed, tmp_path, capsys) -> None:
    wav = _tone_wav(tmp_path / "a.wav")
    assert cli.main(["recognize", str(wav)]) == 0
    assert capsys.readouterr().out == (
        f'{wav}: "add five minutes" -> extend seconds=300 (confidence 0.91, 12 ms)\n'
    )


def test_a_broken_config_does_not_block_an_explicit_model(stubbed, tmp_path, capsys) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text("model = [broken\n")
    wav = _tone_wav(tmp_path / "a.wav")
    assert cli.main(["recognize", "--model", str(tmp_path), str(wav)]) == 0
    assert "extend" in capsys.readouterr().out


def test_no_files_is_a_usage_error(capsys) -> None:
    assert cli.main(["recognize"]) == 1
    assert "give one or more WAV files" in capsys.readouterr().err


def test_a_junk_vosk_model_is_one_line_and_kaldi_keeps_quiet_unless_verbose(
    tmp_path: Path,
) -> None:
    """A directory shaped like a Vosk model whose files are junk: Kaldi's own ERROR lines (it
    writes them to fd 2 whatever SetLogLevel says) stay out of the person's terminal."""
    junk = tmp_path / "junk-model"
    for part in ("am/final.mdl", "conf/model.conf", "graph/HCLG.fst"):
        (junk / part).parent.mkdir(parents=True, exist_ok=True)
        (junk / part).write_text("junk\n")
    wav = _tone_wav(tmp_path / "a.wav")

    def run(*flags: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "voicecoach", *flags, "recognize", "--model", str(junk)]
        return subprocess.run([*argv, str(wav)], capture_output=True, text=True, timeout=60)

    quiet = run()
    assert quiet.returncode == 1
    assert quiet.stderr.splitlines() == [
        f"voicecoach: listening with vosk: model {junk} (from --model)",
        f"voicecoach: cannot load the Vosk model in {junk}: Failed to create a model",
    ]
    assert "VoskAPI" in run("-v").stderr  # -v still shows what Kaldi said


def test_missing_model_is_one_line_without_traceback(tmp_path: Path) -> None:
    wav = _tone_wav(tmp_path / "a.wav")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicecoach",
            "recognize",
            "--model",
            str(tmp_path / "no"),
            str(wav),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr == f"voicecoach: --model: model directory {tmp_path / 'no'} does not exist\n"


@pytest.mark.vosk
def test_real_model_json(vosk_model_dir, espeak, tmp_path, capsys) -> None:
    command = espeak("add five minutes")
    other = espeak("then switch legs and repeat")
    stereo = tmp_path / "stereo.wav"
    subprocess.run(["sox", str(command), "-r", "44100", "-c", "2", str(stereo)], check=True)
    code = cli.main(
        [
            "recognize",
            "--json",
            "--model",
            str(vosk_model_dir),
            str(command),
            str(other),
            str(stereo),
        ]
    )
    assert code == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [list(r) for r in records] == [JSON_KEYS] * 3
    assert records[0]["intent"] == "extend" and records[0]["slots"] == {"seconds": 300}
    assert records[1]["intent"] is None and records[1]["slots"] == {}
    assert records[2]["intent"] == "extend" and records[2]["slots"] == {"seconds": 300}
    for record in records:
        assert 0.0 <= record["confidence"] <= 1.0
        assert record["decode_ms"] > 0


@pytest.mark.vosk
def test_sample_recognizes_its_own_synthesized_command(vosk_model_dir, capsys) -> None:
    assert cli.main(["recognize", "--model", str(vosk_model_dir), "--sample"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('synthesized "add five minutes" with espeak-ng')
    assert out[1].endswith(")") and "-> extend seconds=300" in out[1]


# --- bad input (issue 11) ------------------------------------------------------------------


def test_sample_text_that_looks_like_an_option_becomes_speech(stubbed, monkeypatch, capsys) -> None:
    """`--sample=--help` is words for espeak-ng to say, not its --help (which writes no WAV)."""
    heard: list[np.ndarray] = []
    monkeypatch.setattr(
        StubRecognizer,
        "decode",
        lambda self, pcm: heard.append(pcm) or Utterance("", None, 0.0, 1.0),
    )
    assert cli.main(["recognize", "--sample=--help"]) == 0
    [pcm] = heard
    assert len(pcm) > 0.3 * 16000  # espeak-ng said something, for at least a third of a second
    assert np.abs(pcm.astype(np.float64)).mean() > 100


@pytest.mark.parametrize("text", ["\ue000", "\u2026", "---"])
def test_a_sample_espeak_ng_has_no_words_for_is_one_line_not_a_command(
    stubbed, capsys, text: str
) -> None:
    """A private-use character, an ellipsis, dashes: espeak-ng writes 0.3 s of digital silence
    for them, which the PocketSphinx engine decoded as "ow" (pain) at confidence 1.00."""
    assert cli.main(["recognize", f"--sample={text}"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "espeak-ng has no words for --sample" in err and "only silence" in err
    assert stubbed == []  # refused before the model was loaded


def test_an_emoji_sample_is_the_words_espeak_ng_says_for_it(stubbed, monkeypatch, capsys) -> None:
    """espeak-ng names the emoji it knows ("😀" is "grinning face"): real speech, which is what
    the engine is given, and what espeak-ng said is shown."""
    heard: list[np.ndarray] = []
    monkeypatch.setattr(
        StubRecognizer,
        "decode",
        lambda self, pcm: heard.append(pcm) or Utterance("", None, 0.0, 1.0),
    )
    assert cli.main(["recognize", "--sample=😀"]) == 0
    out = capsys.readouterr().out.splitlines()
    [pcm] = heard
    assert len(pcm) > 0.5 * 16000 and np.abs(pcm.astype(np.float64)).mean() > 100
    said = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-q", "--ipa", "--", "grinning face"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert out[0].startswith(f'synthesized "😀" with espeak-ng, said as [{" ".join(said)}]: ')


def test_a_silent_file_is_heard_as_nothing(stubbed, tmp_path, capsys) -> None:
    """Digital silence holds no words: it is not given to the engine, which may force any audio
    onto some command."""
    silent = write_wav(tmp_path / "silent.wav", np.zeros(8000, np.int16))
    assert cli.main(["recognize", "--json", str(silent)]) == 0
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["intent"] is None and record["text"] == ""
    assert cli.main(["recognize", str(silent)]) == 0
    assert "(no sound in it) -> not a command" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "expected"),
    [("x" * 201, "--sample text is 201 characters, more than 200"), ("  ", "needs some words")],
)
def test_sample_text_is_bounded(stubbed, capsys, text: str, expected: str) -> None:
    assert cli.main(["recognize", f"--sample={text}"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and expected in err
    assert stubbed == []  # refused before the model was loaded


def _header_wav(path: Path, rate: int, channels: int = 1, seconds: float = 1.0) -> Path:
    """A 16-bit PCM WAV whose header says `rate`, holding `seconds` of the real 16 kHz tone."""
    import struct

    t = np.arange(int(16000 * seconds)) / 16000
    data = np.repeat((3000 * np.sin(2 * np.pi * 300 * t)).astype("<i2"), channels).tobytes()
    fmt = struct.pack(
        "<HHIIHH", 1, channels, rate, (rate * channels * 2) & 0xFFFFFFFF, channels * 2, 16
    )
    riff = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
    path.write_bytes(
        b"RIFF"
        + struct.pack("<I", len(riff) + 4 + len(data))
        + riff
        + struct.pack("<I", len(data))
        + data
    )
    return path


@pytest.mark.parametrize(
    ("rate", "channels", "expected"),
    [
        (1, 1, "sample rate 1 Hz is outside 8000 to 192000 Hz"),
        (4_000_000_000, 1, "sample rate 4000000000 Hz is outside 8000 to 192000 Hz"),
        (7999, 2, "sample rate 7999 Hz is outside 8000 to 192000 Hz"),
        (0, 1, "WAV header says 1 channel at 0 Hz"),
        (16000, 0, "not a readable PCM WAV file (bad # of channels)"),
    ],
)
def test_a_wav_header_out_of_bounds_is_one_line(
    stubbed, tmp_path, capsys, rate: int, channels: int, expected: str
) -> None:
    path = _header_wav(tmp_path / "odd.wav", rate, channels)
    good = _tone_wav(tmp_path / "good.wav")
    assert cli.main(["recognize", str(path), str(good)]) == 1
    out, err = capsys.readouterr()
    err = _without_engine_line(err)
    assert err.splitlines()[0] == f"voicecoach: {path}: {expected}" + (
        "; convert it with `sox IN -r 16000 OUT.wav`"
        if "outside" in expected
        else "; convert it with `sox IN -b 16 OUT.wav`"
        if "readable" in expected
        else ""
    )
    assert err.splitlines()[1] == "voicecoach: 1 of 2 files could not be read"
    assert str(good) in out  # the good file is still recognized


def test_a_wav_longer_than_a_command_is_refused_before_reading(stubbed, tmp_path, capsys):
    path = _header_wav(tmp_path / "long.wav", 8000, 2, seconds=1)
    # 11 minutes of 8 kHz stereo: a real file of that length (sparse past the first second).
    frames = 11 * 60 * 8000
    with path.open("r+b") as f:
        f.seek(40)
        f.write((frames * 4).to_bytes(4, "little"))
        f.truncate(44 + frames * 4)
    assert cli.main(["recognize", str(path)]) == 1
    _out, err = capsys.readouterr()
    err = _without_engine_line(err)
    assert err.splitlines()[0] == (
        f"voicecoach: {path}: 11.0 minutes of audio, more than the 30 seconds voicecoach reads: "
        "a command is a few seconds long; cut out the part with the command"
    )


# --- issue 20: damaged chunks and bounded work --------------------------------------------------


@pytest.mark.parametrize("chunk", [b"fmt ", b"LIST"])
def test_a_chunk_larger_than_the_file_is_one_line_and_the_others_are_decoded(
    stubbed, tmp_path, capsys, chunk: bytes
) -> None:
    """It was an uncaught RuntimeError (from wave's chunk reader) that ended the whole run."""
    import struct

    data = bytearray(_tone_wav(tmp_path / "src.wav").read_bytes())
    if chunk == b"LIST":
        data[36:36] = b"LIST" + struct.pack("<I", 0xFFFFFF00) + b"INFO"
    else:
        at = data.index(b"fmt ")
        data[at + 4 : at + 8] = struct.pack("<I", 0xFFFFFFF0)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(bytes(data))
    good = _tone_wav(tmp_path / "good.wav")
    assert cli.main(["recognize", str(bad), str(good)]) == 1
    out, err = capsys.readouterr()
    assert _without_engine_line(err).splitlines() == [
        f"voicecoach: {bad}: not a readable PCM WAV file (a chunk says it is larger than the "
        "file: cut off or damaged); convert it with `sox IN -b 16 OUT.wav`",
        "voicecoach: 1 of 2 files could not be read",
    ]
    assert out.startswith(f'{good}: "add five minutes"')


def test_a_huge_file_within_the_seconds_is_refused_by_its_bytes_before_reading(
    stubbed, tmp_path, capsys
) -> None:
    """29 s of 192 kHz, 8 channels of 32 bits: 178 MB inside the seconds bound (a 3.65 GB file
    inside every bound took 204 s). Sparse: only the header is written."""
    import struct

    rate, channels, width, seconds = 192_000, 8, 4, 29
    size = rate * channels * width * seconds
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * width, channels * width, 32)
    path = tmp_path / "huge.wav"
    with path.open("wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack("<I", 16))
        f.write(fmt + b"data" + struct.pack("<I", size))
        f.truncate(44 + size)
    started = time.monotonic()
    assert cli.main(["recognize", str(path)]) == 1
    assert time.monotonic() - started < 5
    _out, err = capsys.readouterr()
    assert _without_engine_line(err).splitlines()[0] == (
        f"voicecoach: {path}: 178 MB of audio (8 channels of 32 bits at 192000 Hz), more than "
        "the 32 MB voicecoach reads: a command is a few seconds long; cut out the command and "
        "mix it down with `sox IN -r 16000 -c 1 -b 16 OUT.wav`"
    )


def test_a_silent_file_is_found_silent_without_resampling_it(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voicecoach.hearing import wavio

    rng = np.random.default_rng(0)
    quiet = rng.integers(-1, 2, 192_000 * 5).astype(np.int16)  # 5 s of dither at 192 kHz
    path = write_wav(tmp_path / "quiet.wav", quiet, rate=192_000)
    fed: list[int] = []
    real_feed = wavio.Resampler.feed
    monkeypatch.setattr(
        wavio.Resampler,
        "feed",
        lambda self, block: fed.append(len(block)) or real_feed(self, block),
    )
    pcm = wavio.read_wav(path)
    assert fed == []
    assert len(pcm) == len(wavio.resample(quiet, 192_000, 16_000)) == 80_000
    assert not pcm.any()
    # One sound at its very end and the whole file is resampled, as before.
    quiet[-100] = 3000
    fed.clear()
    loud = wavio.read_wav(write_wav(tmp_path / "end.wav", quiet, rate=192_000))
    assert sum(fed) == len(quiet)
    assert np.array_equal(loud, wavio.to_int16(wavio.resample(quiet, 192_000, 16_000)))
