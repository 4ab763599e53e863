"""Issue 19's scenarios through `voicecoach demo --script` on the real engine: what a person on
the floor says, heard by the real listener over the coach's voice, and what the coach does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.demo.helpers import transcript_lines

pytestmark = pytest.mark.model

ACHIEVED = re.compile(r"achieved_s=([\d.]+)")


ENGINES = ["pocketsphinx", "whisper"]
"""Pain must be heard whichever engine listens: the grammar search alone, and the neural pair
that `auto` picks when its packages are installed."""


def _scenario(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text("lines:\n" + "".join(f"  - {line}\n" for line in lines))
    return path


def _run_script(root: Path, script: Path, engine: str = "auto") -> subprocess.CompletedProcess[str]:
    """`voicecoach demo --script` with its own data and config dirs, on `engine`."""
    env = {
        **os.environ,
        "VOICECOACH_DATA_DIR": str(root / "data"),
        "VOICECOACH_CONFIG_DIR": str(root / "config"),
    }
    argv = ["demo", "--script", str(script), "--out", str(root / "out"), "--speed", "0"]
    return subprocess.run(
        [sys.executable, "-m", "voicecoach", *argv, "--engine", engine],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("delay_s", [0.3, 0.8, 1.1])
def test_pain_right_after_ready_over_the_hold_cue_ends_the_hold(
    tmp_path: Path, delay_s: float, engine: str
) -> None:
    """ "ouch", "ow" and "my back hurts" said `delay_s` after the hold starts (after "ready",
    while the coach says how long to hold) each end the hold, within a second of the words."""
    said = ["ouch", "ow", "my back hurts"]
    lines = [
        "{say: start the hip routine, after: greeting}",
        "{say: skip, after: checkin_before, wait: 1.5}",
        "{say: ready, after: setup_end, wait: 2}",
    ]
    for words in said:
        lines.append(
            f"{{say: {words}, after_event: hold_started, wait: {delay_s}, over_coach: true}}"
        )
        lines.append("{say: ready, after: pain_options, wait: 2}")
    result = _run_script(tmp_path, _scenario(tmp_path, lines), engine)
    assert "Traceback" not in result.stderr
    timed = transcript_lines(tmp_path)
    for words in said:
        i = next(j for j, (_t, x) in enumerate(timed) if x == f'person: "{words}"')
        started = max(t for t, x in timed[:i] if x.startswith("event: hold started"))
        assert timed[i][0] == pytest.approx(started + delay_s, abs=0.01)
        ended = next((t, x) for t, x in timed[i:] if x.startswith("event: hold ended (hold_ended)"))
        assert "ended=pain" in ended[1], (words, ended, result.stdout[-3000:])
        assert ended[0] - timed[i][0] < 1.5
        m = ACHIEVED.search(ended[1])
        assert m is not None and float(m.group(1)) < delay_s + 1.5


# Heard as "a bit slower", "that's four" or nothing before issue 19.
PAIN_SAID = [
    "that's sore",
    "it's pinching",
    "it's sore",
    "ow my knee",
    "my lower back hurts",
    "that hurts a bit",
    "cramp in my leg",
    "I need to stop",
    "stop, it hurts",
]


def _pain_ends_each_hold(tmp_path: Path, said: list[str], lines: list[str], stdout: str) -> None:
    timed = transcript_lines(tmp_path)
    for words in said:
        i = next(j for j, (_t, x) in enumerate(timed) if x == f'person: "{words}"')
        ended = next((t, x) for t, x in timed[i:] if x.startswith("event: hold ended (hold_ended)"))
        assert "ended=pain" in ended[1], (words, ended, stdout[-3000:])
        assert ended[0] - timed[i][0] < 2.0


@pytest.mark.parametrize("engine", ENGINES)
def test_the_ways_people_say_it_hurts_end_the_hold(tmp_path: Path, engine: str) -> None:
    lines = [
        "{say: start the hip routine, after: greeting}",
        "{say: skip, after: checkin_before, wait: 1.5}",
        "{say: ready, after: setup_end, wait: 2}",
    ]
    for words in PAIN_SAID:
        lines.append(f'{{say: "{words}", after_event: hold_started, wait: 4}}')
        lines.append("{say: ready, after: pain_options, wait: 2}")
    result = _run_script(tmp_path, _scenario(tmp_path, lines), engine)
    assert "Traceback" not in result.stderr
    _pain_ends_each_hold(tmp_path, PAIN_SAID, lines, result.stdout)
    fired = [x for _t, x in transcript_lines(tmp_path) if x.startswith("intent fired:")]
    assert not any("slower" in x or "rating" in x for x in fired)


@pytest.mark.parametrize("engine", ENGINES)
def test_my_back_hurts_half_a_second_into_the_constructive_rest_hold_cue(
    tmp_path: Path, engine: str
) -> None:
    """The 10-minute hold: "my back hurts" over its cue was heard as "hurts" at confidence 0.00
    and ignored, and the hold went on."""
    lines = [
        "{say: start the release routine, after: greeting}",
        "{say: skip, after: checkin_before, wait: 1.5}",
        "{say: ready, after: setup_end, wait: 2}",
        "{say: my back hurts, after_event: hold_started, wait: 0.5, over_coach: true}",
    ]
    result = _run_script(tmp_path, _scenario(tmp_path, lines), engine)
    assert "Traceback" not in result.stderr
    _pain_ends_each_hold(tmp_path, ["my back hurts"], lines, result.stdout)


def test_longer_said_over_the_hold_cue_is_acted_on_when_the_coach_has_finished(
    tmp_path: Path,
) -> None:
    """It was dropped with no reply; now it waits for the cue's end and adds the five minutes."""
    lines = [
        "{say: start the release routine, after: greeting}",
        "{say: skip, after: checkin_before, wait: 1.5}",
        "{say: ready, after: setup_end, wait: 2}",
        "{say: longer, after_event: hold_started, wait: 1.0, over_coach: true}",
        "{say: stop, after: extended, wait: 2}",
        "{say: stop, after: stopped, wait: 1}",
    ]
    result = _run_script(tmp_path, _scenario(tmp_path, lines))
    assert result.returncode == 0, result.stderr
    timed = transcript_lines(tmp_path)
    cue = next(j for j, (_t, x) in enumerate(timed) if x.startswith("coach (hold_start)"))
    said = next(j for j, (_t, x) in enumerate(timed) if x == 'person: "longer"')
    fired = next(j for j, (_t, x) in enumerate(timed) if x.startswith("intent fired: extend"))
    assert cue < said < fired
    heard = next(x for _t, x in timed[said:fired] if x.startswith("heard by"))
    assert "acted on once it has finished" in heard
    # The cue was not cut, and the extension came after it, answered at once.
    assert not any(x == "coach cut off mid-sentence" for _t, x in timed[said:fired])
    assert timed[fired][0] > timed[said][0]
    assert timed[fired + 1][1].startswith("event: extended") or any(
        x.startswith("coach (extended): Added five minutes.") for _t, x in timed[fired : fired + 4]
    )


def test_a_start_heard_unsure_is_asked_back_and_starts_on_yes(tmp_path: Path) -> None:
    """ "help" at idle was heard as "do hip" and started the hip routine. A start heard below
    the session's bar is asked back, whatever the engine: PocketSphinx hears this "do the hip
    stretch" at 0.83 (Whisper, at 0.94, starts it)."""
    lines = [
        "{say: do the hip stretch, after: greeting, wait: 1}",
        '{say: "yes", after: confirm_start, wait: 1}',
        "{say: stop, after: checkin_before, wait: 1}",
        "{say: stop, after: stopped, wait: 1}",
    ]
    result = _run_script(tmp_path, _scenario(tmp_path, lines), "pocketsphinx")
    assert result.returncode == 0, result.stderr
    texts = [x for _t, x in transcript_lines(tmp_path)]
    asked = texts.index("coach (confirm_start): The hip routine? Say yes to start it.")
    said_yes = texts.index('person: "yes"')
    started = next(j for j, x in enumerate(texts) if x.startswith("event: session started"))
    assert asked < said_yes < started
    assert "intent fired: start_routine {'routine': 'hip'}" in texts[:asked]


def test_next_inside_the_sources_range_is_stored_as_done(tmp_path: Path) -> None:
    """ "next" at 22.5 s of "20 to 30 seconds": the coach says it counts, and the demo's history
    has no skip."""
    from voicecoach.history import HistoryStore

    lines = [
        "{say: start the hip routine, after: greeting}",
        "{say: skip, after: checkin_before, wait: 1.5}",
        "{say: ready, after: setup_end, wait: 2}",
        "{say: next, after_event: hold_started, wait: 22.5}",
        "{say: stop, after: side_switch, wait: 2}",
        "{say: stop, after: stopped, wait: 1}",
    ]
    result = _run_script(tmp_path, _scenario(tmp_path, lines))
    assert result.returncode == 0, result.stderr
    texts = [x for _t, x in transcript_lines(tmp_path)]
    assert any(
        x.startswith("coach (done_in_range):") and "inside the twenty to thirty seconds" in x
        for x in texts
    ), texts
    spoken = [x.split(": ", 1)[1] for x in texts if x.startswith(("coach", "summary: "))]
    assert not any("skipped" in x for x in spoken), spoken
    assert not any(x.startswith("event: skipped") for x in texts)
    with HistoryStore.open(tmp_path / "out" / "history.sqlite3", read_only=True) as store:
        [record] = store.sessions()
    assert record.skips == 0 and record.holds == {"left": 1}


def test_lines_that_never_came_are_each_named_and_the_exit_status_is_1(tmp_path: Path) -> None:
    """Issue 19: a line whose moment never came was passed over in silence, exit status 0."""
    lines = [
        "{say: start the hip routine, after: greeting}",
        "{say: skip, after: checkin_before, wait: 1.5}",
        "{say: stop, after: setup_end, wait: 2}",
        "{say: stop, after: stopped, wait: 1}",
        "{say: ready, after: pain_options, wait: 2}",  # no pain was said: never comes
        "{say: ouch, after_event: hold_started}",
    ]
    script = _scenario(tmp_path, lines)
    result = _run_script(tmp_path, script, "pocketsphinx")
    assert result.returncode == 1
    assert "Summary: Stopped after" in result.stdout
    never = [x for x in result.stderr.splitlines() if "never said" in x]
    assert never == [
        f"voicecoach: {script}: lines[4]: never said: 'ready' waited after pain_options, "
        "which did not come before the session ended",
        f"voicecoach: {script}: lines[5]: never said: 'ouch' waited after_event hold_started, "
        "which did not come before the session ended",
    ]
    transcript = (tmp_path / "out" / "transcript.txt").read_text()
    assert f"# never said: {script}: lines[4]: 'ready', after pain_options" in transcript


def test_retries_after_pain_and_the_deeper_variation_as_a_person_lives_them(
    tmp_path: Path,
) -> None:
    """The right side stopped by pain twice (8.9 s, 8.4 s) and skipped: the deeper variation is
    asked about before its instructions, done on the left, left out on the right with why; the
    demo's history and the spoken summary say the same."""
    from voicecoach.history import HistoryStore

    lines = [
        "{say: start the hip routine, after: greeting}",
        "{say: skip, after: checkin_before, wait: 1.5}",
        "{say: ready, after: setup_end, wait: 2}",
        "{say: ready, after: side_switch, wait: 2}",
        "{say: ouch, after_event: hold_started, wait: 8.9}",
        "{say: ready, after: pain_options, wait: 3}",
        "{say: ouch, after_event: hold_started, wait: 8.4}",
        "{say: skip, after: pain_options_again, wait: 2}",
        '{say: "yes", after: offer, wait: 2}',
        "{say: ready, after: setup_end, wait: 2}",
        "{say: about a three, after: checkin_after, wait: 1.5}",
    ]
    result = _run_script(tmp_path, _scenario(tmp_path, lines))
    assert result.returncode == 0, result.stderr
    coach = [x for _t, x in transcript_lines(tmp_path) if x.startswith("coach (")]
    offer = next(i for i, x in enumerate(coach) if x.startswith("coach (offer):"))
    told = next(i for i, x in enumerate(coach) if "Lift your arm" in x)
    assert offer < told and "Lift your arm" not in coach[offer]
    assert coach[offer].endswith("If that felt easy, say ready for the deeper variation, or skip.")
    left_out = coach.index(
        "coach (declined_after_pain): No deeper variation on the right side: pain stopped the "
        "kneeling psoas stretch there."
    )
    assert coach[left_out - 1].startswith("coach (hold_done):")  # out of the deeper stretch
    spoken = next(x for x in coach if x.startswith("coach (summary):"))
    assert "kneeling psoas stretch right, skipped" in spoken and "Pain stopped two holds" in spoken
    with HistoryStore.open(tmp_path / "out" / "history.sqlite3", read_only=True) as store:
        [record] = store.sessions()
    # Left: the stretch and its deeper variation; right: nothing held, two tries pain stopped.
    assert record.holds == {"left": 2} and record.pain_stopped == 2
    assert record.held_s["left"] == pytest.approx(60.0, abs=0.5)
