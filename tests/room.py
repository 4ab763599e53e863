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
        pa_volume = str(round(max(0.0, min(1.0, volume)) * 65536))
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
