"""A room without hardware: a user-mode PulseAudio server with one null sink.

The coach plays into the sink `room`, a scripted person plays into the same sink, and the coach's
microphone is the sink's monitor `room.monitor`: it hears the mix, its own voice included, as a
microphone in a room hears the loudspeaker. The server lives in a temporary directory (config,
HOME, XDG_RUNTIME_DIR), is reached through `PULSE_SERVER`, and is stopped by its PID; nothing is
left running and no state from an earlier run is read. Used by the `room` tests and bench/live.py.

A process that is to use the room through PortAudio must get `Room.env()` in its environment
before it imports sounddevice (PortAudio lists the devices once, at import).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import wave
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import numpy as np

SINK = "room"
MONITOR = "room.monitor"
RATE = 16_000

DEFAULT_PA = f"""\
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name={SINK} rate={RATE} channels=1 format=s16le norewinds=1
load-module module-always-sink
set-default-sink {SINK}
set-default-source {MONITOR}
"""
"""The server's whole startup script. norewinds=1 is essential: without it each new stream
waited 0.7 to 2 s before audio flowed and lost its first ~6 ms on the monitor."""

DAEMON_CONF = """\
exit-idle-time = -1
flat-volumes = no
default-sample-rate = 16000
default-sample-channels = 1
default-fragments = 4
default-fragment-size-msec = 10
"""

CLIENT_CONF = "autospawn = no\n"
"""A client that finds no server must fail, never start one of its own (which nothing would
stop)."""


class RoomError(RuntimeError):
    """The room could not be set up (PulseAudio missing or not starting)."""


def available() -> str | None:
    """None when the room can be built here, else what is missing."""
    for tool in ("pulseaudio", "pactl", "paplay", "parec"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/setup installs pulseaudio, pulseaudio-utils)"
    return None


class Room:
    """One PulseAudio server with one null sink; a context manager."""

    started_dirs: ClassVar[list[Path]] = []
    """Every room directory a server was started in, by this process (to check none is left)."""

    def __init__(self, base: Path | None = None, *, ready_timeout_s: float = 10.0) -> None:
        self._own_dir = base is None
        self.dir = Path(tempfile.mkdtemp(prefix="voicecoach-room-")) if base is None else base
        self.ready_timeout_s = ready_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_s: float | None = None
        """How long the server took to answer `pactl info`."""
        self.log = self.dir / "pulseaudio.log"
        self._recorders: list[subprocess.Popen[bytes]] = []

    # --- addresses --------------------------------------------------------------------------

    @property
    def socket(self) -> Path:
        return self.dir / "run" / "pulse" / "native"

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment whose PortAudio, ALSA and pa* tools reach this room and nothing else."""
        env = dict(os.environ if base is None else base)
        env["PULSE_SERVER"] = self.server
        env["PULSE_CLIENTCONFIG"] = str(self.dir / "client.conf")
        env["PULSE_SINK"] = SINK
        env["PULSE_SOURCE"] = MONITOR
        return env

    # --- life -------------------------------------------------------------------------------

    def start(self) -> Room:
        if (missing := available()) is not None:
            raise RoomError(missing)
        for sub in ("home", "run", "config", "state"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "default.pa").write_text(DEFAULT_PA)
        (self.dir / "daemon.conf").write_text(DAEMON_CONF)
        (self.dir / "client.conf").write_text(CLIENT_CONF)
        env = self.env()
        env.update(
            HOME=str(self.dir / "home"),
            XDG_RUNTIME_DIR=str(self.dir / "run"),
            XDG_CONFIG_HOME=str(self.dir / "config"),
            XDG_STATE_HOME=str(self.dir / "state"),
            PULSE_STATE_PATH=str(self.dir / "state"),
            PULSE_RUNTIME_PATH=str(self.dir / "run" / "pulse"),
        )
        started = time.monotonic()
        Room.started_dirs.append(self.dir)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    "pulseaudio",
                    "-n",
                    "--daemonize=no",
                    "--exit-idle-time=-1",
                    "--use-pid-file=no",
                    "--log-target=stderr",
                    "-F",
                    str(self.dir / "default.pa"),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
            )
        deadline = started + self.ready_timeout_s
        while True:
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-800:]
                self.stop()
                raise RoomError(f"pulseaudio exited with {self.proc.returncode}: {tail}")
            if self.socket.exists() and self._pactl("info").returncode == 0:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RoomError(f"pulseaudio did not answer within {self.ready_timeout_s:g} s")
            time.sleep(0.05)
        self.ready_s = time.monotonic() - started
        return self

    def _pactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pactl", *args], env=self.env(), capture_output=True, text=True, timeout=10
        )

    def pactl(self, *args: str) -> str:
        """`pactl ARGS` against this room; its output."""
        done = self._pactl(*args)
        if done.returncode != 0:
            raise RoomError(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """The server dies at once (SIGKILL), as when the sound system crashes."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the recorders and the server (by PID) and remove the directory."""
        for rec in self._recorders:
            _end(rec)
        self._recorders.clear()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Room:
        return self.start() if self.proc is None else self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- sound in and out -------------------------------------------------------------------

    def play(self, wav: Path, *, volume: float = 0.5, wait: bool = True) -> subprocess.Popen[bytes]:
        """Play a WAV into the room (`paplay --device=room`), at `volume` (0..1, linear).

        Mixing is a plain sum: at 0.5 the person and the coach together cannot clip."""
        # PulseAudio's volume scale is cubic: linear amplitude = (v / 65536) ** 3.
        pa_volume = str(round(max(0.0, min(1.0, volume)) ** (1 / 3) * 65536))
        proc = subprocess.Popen(
            ["paplay", f"--device={SINK}", f"--volume={pa_volume}", str(wav)],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if wait:
            _, err = proc.communicate(timeout=60)
            if proc.returncode != 0:
                raise RoomError(f"paplay {wav}: {err.decode(errors='replace').strip()}")
        return proc

    @contextlib.contextmanager
    def recording(self, path: Path) -> Iterator[Path]:
        """Record the monitor (what a microphone in the room hears) to `path` as 16 kHz WAV."""
        proc = subprocess.Popen(
            [
                "parec",
                f"--device={MONITOR}",
                "--file-format=wav",
                f"--rate={RATE}",
                "--channels=1",
                "--format=s16le",
                "--latency-msec=20",
                str(path),
            ],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._recorders.append(proc)
        try:
            time.sleep(0.2)  # the stream is connected before anything is played
            yield path
        finally:
            time.sleep(0.2)
            _end(proc, signal.SIGINT)  # parec writes the WAV header's lengths on SIGINT
            with contextlib.suppress(ValueError):
                self._recorders.remove(proc)


def _end(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def read_wav(path: Path) -> np.ndarray:
    """16-bit mono samples of a WAV (parec's or espeak-ng's); a header parec left unfinished is
    read as far as data goes."""
    try:
        with wave.open(str(path), "rb") as w:
            data = w.readframes(w.getnframes())
            width = w.getsampwidth()
            channels = w.getnchannels()
    except (wave.Error, EOFError):
        raw = path.read_bytes()
        data, width, channels = raw[44:], 2, 1
    if width != 2:
        raise ValueError(f"{path}: {width * 8}-bit audio")
    samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels)[:, 0]
    return samples.astype(np.int16)


# --- the coach in the room, and a person who talks to it ------------------------------------------

ROUTINE_FILE = Path(__file__).resolve().parent / "data" / "roomtest.yaml"
"""The room tests' short routine (two exercises, two sides each, holds of seconds)."""


class CoachExited(AssertionError):
    """The coach's process ended while something was still awaited from it."""


class Coach:
    """`voicecoach start` as a subprocess in the room, with its own config and data dirs.

    `wait_for` reads its events log (`--events`) to act at moments keyed on what the coach does;
    `say` is the person speaking (an espeak-ng WAV played into the room).
    """

    def __init__(
        self,
        room: Room,
        home: Path,
        *,
        args: tuple[str, ...] = ("--routine", "roomtest", "--no-checkins"),
        volume: float = 0.3,
        python: str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        import sys

        self.room = room
        self.home = home
        self.events_path = home / "events.jsonl"
        self.config_dir = home / "config"
        self.data_dir = home / "data"
        self.args = args
        self.volume = volume
        self.python = python or sys.executable
        self.extra_env = dict(extra_env or {})
        self.proc: subprocess.Popen[str] | None = None
        self._out_path = home / "stdout.txt"
        self._err_path = home / "stderr.txt"
        self.stdout = ""
        self.stderr = ""
        self._seen = 0
        (self.config_dir / "routines").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROUTINE_FILE, self.config_dir / "routines" / ROUTINE_FILE.name)
        # The coach's speaker is quieter at the microphone than the person is: they lie next to
        # it, the loudspeaker is across the room. It also keeps the sum in the room from clipping.
        (self.config_dir / "config.toml").write_text(f"volume = {volume}\n")

    def env(self) -> dict[str, str]:
        env = self.room.env()
        env.update(
            VOICECOACH_CONFIG_DIR=str(self.config_dir),
            VOICECOACH_DATA_DIR=str(self.data_dir),
            XDG_CONFIG_HOME=str(self.home / "xdg-config"),
            XDG_DATA_HOME=str(self.home / "xdg-data"),
            XDG_CACHE_HOME=str(self.home / "xdg-cache"),
            PYTHONUNBUFFERED="1",
            PYTHONFAULTHANDLER="0",
        )
        env.pop("VOICECOACH_MODEL", None)
        env.update(self.extra_env)
        return env

    def start(self, *extra: str) -> Coach:
        self.events_path.unlink(missing_ok=True)
        self._seen = 0
        out, err = self._out_path.open("w"), self._err_path.open("w")
        self.proc = subprocess.Popen(
            [
                self.python,
                "-m",
                "voicecoach",
                "-v",
                "start",
                *self.args,
                *extra,
                "--events",
                str(self.events_path),
            ],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            # Files, not pipes: -v logs a lot, and a full pipe would stall the coach.
            stdout=out,
            stderr=err,
            text=True,
        )
        out.close()
        err.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def events(self) -> list[dict]:
        from voicecoach.eventlog import read_events

        return read_events(self.events_path)

    def wait_for(
        self,
        kind: str,
        timeout: float = 30.0,
        *,
        since: float | None = None,
        **match: object,
    ) -> dict:
        """The first event of `kind` whose fields equal `match`, not seen by an earlier
        wait_for (or at or after monotonic time `since`); waits for it up to `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            for i in range(self._seen, len(events)):
                e = events[i]
                if e["kind"] != kind or (since is not None and e["t"] < since):
                    continue
                if all(e.get(k) == v for k, v in match.items()):
                    self._seen = i + 1
                    return e
            if self.proc is not None and self.proc.poll() is not None:
                self.finish(timeout=5)
                raise CoachExited(
                    f"the coach exited ({self.proc.returncode}) before a {kind} {match} event; "
                    f"stderr: {self.stderr[-1500:]}"
                )
            if time.monotonic() > deadline:
                last = [_brief(e) for e in events[-8:]]
                raise AssertionError(f"no {kind} {match} event within {timeout:g} s; last: {last}")
            time.sleep(0.02)

    def wait_quiet(
        self, timeout: float = 60.0, *, since: float = 0.0, after_s: float = 0.6
    ) -> dict:
        """Until the coach has said all it had to say (its last speech_finished after `since`
        with nothing still queued and no cue after it), and `after_s` more: when a person
        would speak. Returns that speech_finished event."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            last = None
            for i in range(len(events) - 1, -1, -1):
                e = events[i]
                if e["kind"] in ("cue", "speech_started"):
                    break
                if e["kind"] == "speech_finished":
                    last = e if not e.get("still_speaking") and e["t"] >= since else None
                    break
            settled = last is not None and time.monotonic() >= last["at"] + after_s
            # Nothing new since this look (a cue the session answered with just now).
            if settled and not any(
                e["kind"] in ("cue", "speech_started") for e in self.events()[len(events) :]
            ):
                assert last is not None
                return last
            if self.proc is not None and self.proc.poll() is not None:
                self.finish(timeout=5)
                raise CoachExited(f"the coach exited ({self.proc.returncode}) while speaking")
            if time.monotonic() > deadline:
                last_few = [_brief(e) for e in events[-8:]]
                raise AssertionError(f"the coach did not fall silent in {timeout:g} s: {last_few}")
            time.sleep(0.03)

    def say(self, wav: Path, *, volume: float = 1.0) -> tuple[float, float]:
        """The person says one thing (waits until played): (monotonic start, end) of playback."""
        t0 = time.monotonic()
        self.room.play(wav, volume=volume)
        return t0, time.monotonic()

    def say_async(self, wav: Path, *, volume: float = 1.0) -> subprocess.Popen[bytes]:
        return self.room.play(wav, volume=volume, wait=False)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def finish(self, timeout: float = 60.0) -> int:
        """Wait for the coach to exit (killing it after `timeout`); its exit code."""
        assert self.proc is not None
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self._read_output()
            raise AssertionError(
                f"the coach did not exit within {timeout:g} s; stderr: {self.stderr[-1500:]}"
            ) from None
        self._read_output()
        return self.proc.returncode

    def _read_output(self) -> None:
        self.stdout = self._out_path.read_text(errors="replace")
        self.stderr = self._err_path.read_text(errors="replace")

    def own_lines(self) -> list[str]:
        """What voicecoach itself told the person on stderr (its log lines left out)."""
        return [line for line in self.stderr.splitlines() if line.startswith("voicecoach:")]

    def close(self) -> None:
        """Kill the coach if it is still running (by PID)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=10)


def _brief(e: dict) -> tuple[object, ...]:
    name = e.get("key") or e.get("what") or e.get("event") or e.get("name") or e.get("text")
    return (round(e["t"], 2), e["kind"], name)
