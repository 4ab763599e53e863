"""config.toml: defaults, flags override, clear errors that name the key, voice changes kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicecoach.config import Config, load_config, remember_voice, save_config
from voicecoach.errors import VoicecoachError


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path))
    return tmp_path


def test_missing_file_gives_defaults(config_dir: Path) -> None:
    assert load_config() == Config()


def test_values_are_read_and_flags_override(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text(
        'model = "~/models/vosk"\ninput_device = 3\nvoice = "gmw/en-us"\nrate = 150\nvolume = 1\n'
    )
    config = load_config()
    assert config.model == Path("~/models/vosk").expanduser()
    assert config.input_device == 3
    assert (config.voice, config.rate, config.volume) == ("gmw/en-us", 150, 1.0)
    flagged = config.with_overrides(input_device="USB", model=None)
    assert flagged.input_device == "USB"
    assert flagged.model == config.model


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("rate = 'fast'\n", "'rate'"),
        ("rate = 1000\n", "'rate'"),
        ("volume = 2.5\n", "'volume'"),
        ("volume = true\n", "'volume'"),
        ("input_device = [1, 2]\n", "'input_device'"),
        ("speed = 3\n", "'speed'"),
        ("model = 4\n", "'model'"),
        ("engine = 'kaldi'\n", "'engine'"),
        ("engine = 1\n", "'engine'"),
    ],
)
def test_bad_value_error_names_the_key(config_dir: Path, text: str, named: str) -> None:
    (config_dir / "config.toml").write_text(text)
    with pytest.raises(VoicecoachError) as err:
        load_config()
    message = str(err.value)
    assert named in message
    assert str(config_dir / "config.toml") in message
    assert "\n" not in message


@pytest.mark.parametrize("engine", ["auto", "vosk", "pocketsphinx"])
def test_engine_is_read_and_kept_on_save(config_dir: Path, engine: str) -> None:
    (config_dir / "config.toml").write_text(f'engine = "{engine}"\nrate = 150\n')
    assert load_config().engine == engine
    remember_voice(170, 0.5)
    assert load_config() == Config(engine=engine, rate=170, volume=0.5)


def test_a_bad_engine_says_which_are_known(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text('engine = "kaldi"\n')
    with pytest.raises(VoicecoachError) as err:
        load_config()
    assert (
        '\'engine\' must be one of "auto", "whisper", "vosk", "pocketsphinx", not \'kaldi\''
        in str(err.value)
    )


def test_broken_toml_is_one_clear_line(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text("rate = \n")
    with pytest.raises(VoicecoachError, match="not valid TOML"):
        load_config()


def test_voice_changes_are_remembered_and_other_keys_kept(config_dir: Path) -> None:
    save_config(Config(input_device="USB mic", rate=165, volume=0.9))
    remember_voice(140, 0.7)
    config = load_config()
    assert (config.rate, config.volume, config.input_device) == (140, 0.7, "USB mic")


def test_a_broken_file_is_never_overwritten(config_dir: Path) -> None:
    path = config_dir / "config.toml"
    path.write_text("rate = 'fast'\n")
    remember_voice(140, 0.7)
    assert path.read_text() == "rate = 'fast'\n"


def test_a_file_that_is_not_utf8_is_one_clear_line(config_dir: Path) -> None:
    (config_dir / "config.toml").write_bytes(b'voice = "caf\xe9"\n')  # saved as Latin-1
    with pytest.raises(VoicecoachError, match="not UTF-8") as err:
        load_config()
    assert str(config_dir / "config.toml") in str(err.value)
    assert "\n" not in str(err.value)


def test_remembering_the_voice_keeps_the_persons_comments_and_paths(config_dir: Path) -> None:
    path = config_dir / "config.toml"
    path.write_text(
        "# my mic is the USB one\n"
        'input_device = "USB"  # not the laptop\n'
        'model = "~/models/vosk"\n'
        "rate = 165  # words per minute\n"
    )
    remember_voice(140, 0.7)
    assert path.read_text() == (
        "# my mic is the USB one\n"
        'input_device = "USB"  # not the laptop\n'
        'model = "~/models/vosk"\n'
        "rate = 140  # words per minute\n"
        "volume = 0.70\n"
    )
    config = load_config()
    assert (config.rate, config.volume, config.input_device) == (140, 0.7, "USB")


# --- issue 20: hostile and broken settings -------------------------------------------------


def _run_cli(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str], list[str]]:
    """(exit code, stdout lines, stderr lines) of `voicecoach ARGS` run in this process."""
    from voicecoach import cli

    code = cli.main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out.splitlines(), captured.err.strip().splitlines()


@pytest.mark.parametrize("volume", ["0", "0.0", "0.05", "nan", "-0.5"])
def test_a_volume_that_would_silence_the_coach_is_refused(config_dir: Path, volume: str) -> None:
    (config_dir / "config.toml").write_text(f"volume = {volume}\n")
    with pytest.raises(VoicecoachError) as err:
        load_config()
    assert "'volume' must be a number from 0.1 to 1 (0 would silence the coach)" in str(err.value)


def test_the_quietest_volume_is_accepted(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text("volume = 0.1\n")
    assert load_config().volume == 0.1


def _deep_arrays(depth: int) -> str:
    return "a = " + "[" * depth + "]" * depth + "\n"


def _deep_tables(depth: int) -> str:
    return "a = " + "{b = " * depth + "1" + "}" * depth + "\n"


@pytest.mark.parametrize("text", [_deep_arrays(10_000), _deep_tables(3_000)])
@pytest.mark.parametrize("command", [["doctor"], ["recognize", "x.wav"]])
def test_a_config_nested_thousands_deep_is_one_line_in_doctor_and_recognize(
    config_dir: Path, capsys: pytest.CaptureFixture[str], text: str, command: list[str]
) -> None:
    (config_dir / "config.toml").write_text(text)
    code, out, err = _run_cli(command, capsys)
    assert code == 1
    expected = (
        f"{config_dir / 'config.toml'}: not valid TOML for voicecoach: nested too deep "
        "(its settings are plain key = value lines)"
    )
    if command == ["doctor"]:
        assert f"PROBLEM config: {expected}; fix or delete it" in out
        assert err[-1].startswith("voicecoach doctor: the coach cannot run here")
    else:
        assert err == [f"voicecoach: {expected}"]


@pytest.mark.parametrize("command", [["doctor"], ["recognize", "x.wav"]])
def test_a_config_that_is_a_named_pipe_is_refused_not_waited_on(
    config_dir: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    import os
    import threading

    os.mkfifo(config_dir / "config.toml")
    # Nobody ever writes the pipe: a reader that opened it blocking would wait forever.
    result: list[tuple[int, list[str], list[str]]] = []
    worker = threading.Thread(target=lambda: result.append(_run_cli(command, capsys)))
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # unblock it so the test run can end, then fail
        with open(config_dir / "config.toml", "w"):
            pass
        pytest.fail("reading a config.toml that is a named pipe hung")
    code, out, err = result[0]
    assert code == 1
    message = f"{config_dir / 'config.toml'} is not a regular file (a named pipe)"
    shown = out if command == ["doctor"] else err
    assert any(message in line for line in shown), shown


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("model", "\x00x"),
        ("model", "\x1b]0;pwned\x07"),
        ("voice", "gmw/en-us\u202e"),
        ("input_device", "USB\x1b[2J"),
        ("output_device", "\x9bspeaker"),
        ("voice", "   "),
    ],
)
def test_control_characters_in_a_setting_are_refused_and_never_printed_raw(
    config_dir: Path, key: str, value: str
) -> None:
    import json

    # TOML's \\u escapes let the file itself stay plain text.
    (config_dir / "config.toml").write_text(f"{key} = {json.dumps(value)}\n")
    with pytest.raises(VoicecoachError) as err:
        load_config()
    message = str(err.value)
    assert f"'{key}' must be" in message
    assert "without control characters" in message or not value.strip()
    assert not any(ch in message for ch in "\x00\x1b\x07\u202e\x9b")


def test_a_long_value_is_echoed_cut(config_dir: Path) -> None:
    (config_dir / "config.toml").write_text(f'engine = "{"k" * 60_000}"\n')
    with pytest.raises(VoicecoachError) as err:
        load_config()
    assert len(str(err.value)) < 300 and "(60000 characters)" in str(err.value)


def test_saving_a_voice_setting_writes_through_a_symlink_and_keeps_the_mode(
    config_dir: Path,
) -> None:
    import os
    import stat

    real = config_dir / "dotfiles" / "voicecoach.toml"
    real.parent.mkdir()
    real.write_text('# mine\nrate = 165\nvoice = "gmw/en-us"\n')
    os.chmod(real, 0o600)
    link = config_dir / "config.toml"
    link.symlink_to(real)
    old_umask = os.umask(0)
    try:
        remember_voice(140, 0.7)
    finally:
        os.umask(old_umask)
    assert link.is_symlink() and link.resolve() == real
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert real.read_text().startswith("# mine\n")
    assert (load_config().rate, load_config().volume) == (140, 0.7)
    # Written whole or not at all: no temporary file is left beside it.
    assert sorted(p.name for p in real.parent.iterdir()) == ["voicecoach.toml"]
    assert sorted(p.name for p in config_dir.iterdir()) == ["config.toml", "dotfiles"]


def test_a_failed_save_leaves_the_old_file_whole(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    path = config_dir / "config.toml"
    path.write_text("rate = 165\nvolume = 0.9\n")

    def full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        remember_voice(140, 0.5)
    assert path.read_text() == "rate = 165\nvolume = 0.9\n"
    assert sorted(p.name for p in config_dir.iterdir()) == ["config.toml"]


# --- fuzz: generated config files, hostile ones among them -----------------------------------

_FUZZ_CONFIGS = 300
_KEYS = ["engine", "model", "input_device", "output_device", "voice", "rate", "volume", "speed"]
_CONTROL = ["\\u0000", "\\u001b", "\\u0007", "\\u202e", "\\u009b", "\\u007f", "\\u200b", "\\t"]


def _toml_value(rng, depth: int = 0) -> str:
    kind = rng.randrange(10 if depth < 3 else 7)
    if kind == 0:
        return str(rng.choice([0, 1, 79, 80, 165, 400, 401, -1, 10**30]))
    if kind == 1:
        return rng.choice(
            ["0.0", "0.05", "0.1", "0.5", "1.0", "1.5", "nan", "inf", "-inf", "1e308"]
        )
    if kind == 2:
        return rng.choice(["true", "false"])
    if kind in (3, 4):
        text = "".join(rng.choice(["a", "/", "~", " ", "é", "x", *_CONTROL]) for _ in range(8))
        return f'"{text}"'
    if kind == 5:
        return f'"{rng.choice(["auto", "vosk", "pocketsphinx", "kaldi", "", "   "])}"'
    if kind == 6:  # nested far past any recursion limit
        depth_n = rng.choice([50, 3_000, 10_000])
        if rng.random() < 0.5:
            return "[" * depth_n + "]" * depth_n
        return "{a = " * depth_n + "1" + "}" * depth_n
    if kind == 7:
        return "[" + ", ".join(_toml_value(rng, depth + 1) for _ in range(rng.randrange(3))) + "]"
    if kind == 8:
        return "{x = " + _toml_value(rng, depth + 1) + "}"
    return '"' + "k" * rng.choice([10, 70, 5_000]) + '"'


def test_fuzz_config_is_a_valid_config_or_one_printable_line(tmp_path: Path) -> None:
    """Every generated file loads into settings the coach can use (volume it can hear, text it
    can print) or is refused in one line that names the file and prints nothing raw."""
    import random

    from voicecoach.config import MIN_VOLUME
    from voicecoach.shown import unsafe_characters

    rng = random.Random(20)
    outcomes = {"loaded": 0, "refused": 0}
    for n in range(_FUZZ_CONFIGS):
        path = tmp_path / f"fuzz{n:03d}.toml"
        lines = [f"{rng.choice(_KEYS)} = {_toml_value(rng)}" for _ in range(rng.randrange(1, 4))]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            config = load_config(path)
        except VoicecoachError as exc:
            message = str(exc)
            assert str(path) in message and "\n" not in message, message
            assert not unsafe_characters(message), repr(message)
            assert len(message) < 500, message
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        assert MIN_VOLUME <= config.volume <= 1 and 80 <= config.rate <= 400
        for value in (config.engine, config.voice, config.input_device, config.output_device):
            assert not (isinstance(value, str) and unsafe_characters(value)), repr(value)
        assert config.model is None or not unsafe_characters(str(config.model))
    assert outcomes["loaded"] > 10 and outcomes["refused"] > 100, outcomes


def test_fuzz_hostile_configs_through_the_command_line(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import random

    rng = random.Random(21)
    for _ in range(25):
        key = rng.choice(["model", "voice", "input_device", "engine"])
        value = rng.choice([f'"x{c}y"' for c in _CONTROL] + ["[" * 10_000 + "]" * 10_000])
        (config_dir / "config.toml").write_text(f"{key} = {value}\n")
        code, out, err = _run_cli(["recognize", "x.wav"], capsys)
        assert code == 1 and out == []
        assert len(err) == 1 and err[0].isprintable(), err
        assert str(config_dir / "config.toml") in err[0]
