"""`voicecoach routines` and `voicecoach routines --check`: what they list and say, in one line
per problem and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.routines.helpers import BROKEN, GOOD, assert_one_line, routine_text, run_cli, write
from voicecoach import cli
from voicecoach.routines import RoutineLibrary


def test_check_command_accepts_a_good_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD)
    assert cli.main(["check", str(path)]) == 0
    assert "ok - routine 'morning', 1 step," in capsys.readouterr().out


@pytest.mark.parametrize("case", ["unknown side", "bad yaml", "negative hold"])
def test_check_command_gives_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, expected = BROKEN[case]
    path = write(tmp_path, text, "broken.yaml")
    assert cli.main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"voicecoach: {path}: ") and expected in err


def test_check_command_on_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "nope.yaml: file: expected a routine YAML file" in capsys.readouterr().err


def test_routines_command_lists_all_and_the_broken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, GOOD, "good.yaml")
    write(tmp_path, BROKEN["unknown side"][0], "bad.yaml")
    assert cli.main(["routines", "--dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert err == (
        f"voicecoach: skipped {tmp_path / 'bad.yaml'}: exercises[0].sides[1]: expected 'left' or "
        "'right', got 'middle'\n"
    )
    for expected in (
        "hip (built-in)",
        "release (built-in)",
        "full (built-in)",
        "morning (user:",
        "constructive rest [constructive_rest]: hold ten minutes (up to fifteen minutes)",
        "kneeling psoas stretch [kneeling_psoas_stretch]: hold thirty seconds per side",
        "psoas slide [psoas_slide]: 5 repetitions",
        # Numbers the sources do not give are labelled as the coach's own; the source's are
        # said as the source gives them.
        # The 16 s a slide takes (8 s each way) is the coach's too: the source says "slowly".
        "psoas slide [psoas_slide]: 5 repetitions of 16 s per side (up to 10) "
        "[coach's choice: the source gives no count and no pace, only slowly]",
        "hip stirring [hip_stirring]: hold forty-five seconds per side (up to two minutes) "
        "[coach's choice: the source gives no time]",
        "the source says twenty to thirty seconds",
        "the source says ten to fifteen minutes",
        "deeper variation [deeper_kneeling_stretch]",
        "optional, asked first",
    ):
        assert expected in out
    kneeling = next(line for line in out.splitlines() if "[kneeling_psoas_stretch]" in line)
    assert "coach's choice" not in kneeling and "(up to thirty seconds)" in kneeling


def test_check_accepts_a_file_that_includes_a_routine_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`routines` loads a user file that includes another user routine; `check` must agree."""
    write(tmp_path, GOOD, "morning.yaml")
    write(tmp_path, BROKEN["unknown side"][0], "bad.yaml")  # a broken neighbour is not its fault
    more = "id: more\nnames: [more]\nexercises:\n  - routine: morning\n"
    path = write(tmp_path, more, "more.yaml")
    assert "more" in RoutineLibrary.load(user_dir=tmp_path).ids()
    assert cli.main(["check", str(path)]) == 0, capsys.readouterr().err
    assert "ok - routine 'more', 1 step," in capsys.readouterr().out
    ghost = write(tmp_path, "id: ghost\nnames: [ghost]\nexercises:\n  - routine: nope\n", "g.yaml")
    assert cli.main(["check", str(ghost)]) == 1
    assert "expected a known routine, got 'nope'" in capsys.readouterr().err


def test_routines_says_one_step_not_one_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, GOOD)
    code, out, _err = run_cli(["routines", "--dir", str(tmp_path)], capsys)
    assert code == 0
    assert "  1 step, one minute of holds" in out and "1 steps" not in out
    assert "  4 steps," in out  # hip


def test_routines_into_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    """`voicecoach routines | head`: more listing than a pipe holds, and a reader that leaves."""
    config = tmp_path / "config"
    (config / "routines").mkdir(parents=True)
    for n in range(150):
        word = "".join(chr(ord("a") + d) for d in (n // 26, n % 26))
        item = "routine: full"
        write(config / "routines", routine_text(f"r{n}", f"custom {word}", item), f"r{n}.yaml")
    result = subprocess.run(
        f"'{sys.executable}' -m voicecoach routines | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        env={**os.environ, "VOICECOACH_CONFIG_DIR": str(config)},
        check=False,
    )
    assert result.stdout == "full (buil"
    assert result.stderr == ""


def test_a_routine_directory_that_cannot_be_read_is_said_not_hidden(tmp_path: Path) -> None:
    from _person import as_person

    config = tmp_path / "config"
    routines = config / "routines"
    routines.mkdir(parents=True)
    write(routines, GOOD, "good.yaml")
    (routines / ".#good.yaml").symlink_to("nobody@host.1234")  # an editor's lock, not a file
    proc = as_person(["routines"], {"VOICECOACH_CONFIG_DIR": config})
    assert proc.returncode == 0 and proc.stderr == "" and "morning (user:" in proc.stdout
    routines.chmod(0o000)
    try:
        proc = as_person(["routines"], {"VOICECOACH_CONFIG_DIR": config})
    finally:
        routines.chmod(0o755)
    assert proc.returncode == 1 and "hip (built-in)" in proc.stdout
    assert proc.stderr == (
        f"voicecoach: skipped {routines}: cannot read the directory: Permission denied\n"
    )


@pytest.mark.parametrize("kind", ["missing", "file", "device"])
def test_routines_dir_that_is_not_a_directory_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """--dir is the person's own choice: a typo listed the built-ins and said ok (exit 0)."""
    target = {
        "missing": tmp_path / "nope",
        "file": tmp_path / "r.yaml",
        "device": Path("/dev/null"),
    }[kind]
    if kind == "file":
        target.write_text(GOOD, encoding="utf-8")
    code, out, err = run_cli(["routines", "--dir", str(target)], capsys)
    assert (code, out) == (1, "")
    assert_one_line(err, str(target), "--dir")


def test_a_file_name_with_control_characters_is_listed_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "routines"
    user.mkdir()
    (user / "\x1b]0;pwned\x07mine.yaml").write_text(GOOD, encoding="utf-8")
    (user / "\x1b[2Jbroken.yaml").write_text("id: [", encoding="utf-8")
    assert cli.main(["routines", "--dir", str(user)]) == 1
    captured = capsys.readouterr()
    assert "user: " + str(user / "\\x1b]0;pwned\\x07mine.yaml") in captured.out
    assert str(user / "\\x1b[2Jbroken.yaml") in captured.err
    assert all(x.isprintable() for x in (captured.out + captured.err).splitlines())
