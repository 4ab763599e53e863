"""scripts/setup: as a normal user with packages missing it prints the exact apt-get command and
stops; with everything present a second run installs nothing and is quick."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from voicecoach.paths import PROJECT_ROOT

SETUP = PROJECT_ROOT / "scripts" / "setup"
PACKAGES = (
    "espeak-ng libespeak-ng1 libportaudio2 sox pulseaudio pulseaudio-utils libasound2-plugins"
)


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def test_a_normal_user_missing_packages_gets_the_exact_command(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake(bin_dir, "id", "echo 1000")  # not root
    _fake(bin_dir, "dpkg-query", "exit 1")  # nothing installed
    _fake(bin_dir, "apt-get", f"echo apt-get must not run >&2; touch {tmp_path}/apt-ran; exit 1")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(SETUP)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 1
    assert f"sudo apt-get update && sudo apt-get install -y {PACKAGES}" in result.stderr
    assert f"missing Debian packages: {PACKAGES}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "apt-ran").exists()


@pytest.mark.slow
def test_a_second_run_with_everything_present_asks_no_registry(tmp_path: Path) -> None:
    """With nothing changed, setup runs neither pip nor mvn nor apt-get: each is a recording fake
    ahead of the real one on PATH (pip is reached as `.venv/bin/python -m pip`, which only runs
    when the install stamp is stale; the output says "installing" then)."""
    if not (PROJECT_ROOT / ".venv" / ".voicecoach-installed").exists():
        pytest.skip("setup has not run in this checkout (run scripts/setup)")
    subprocess.run(["bash", str(SETUP)], capture_output=True, timeout=600, check=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    asked = tmp_path / "asked"
    for tool in ("mvn", "apt-get", "pip", "pip3", "curl", "wget"):
        _fake(bin_dir, tool, f'echo "{tool} $*" >>{asked}; exit 1')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(SETUP)], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "installing" not in result.stdout + result.stderr
    assert not asked.exists(), asked.read_text()
    out = result.stdout + result.stderr
    assert "model present" in out or "not asked again" in out
