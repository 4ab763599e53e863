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
    (config_dir / "config.toml").write_text('engine = "whisper"\n')
    with pytest.raises(VoicecoachError) as err:
        load_config()
    assert '\'engine\' must be one of "auto", "vosk", "pocketsphinx", not \'whisper\'' in str(
        err.value
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
