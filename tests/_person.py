"""Run a command under the file permissions a person has.

As root, the command runs without the capabilities that let root read and write any file
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a mode-000 file or a locked directory means what it
says; as anyone else it runs as it is. Needs setpriv (util-linux) when run as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

NO_DAC = (
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
)


def as_person(
    argv: list[str], env: Mapping[str, str | Path], *, python: bool = False
) -> subprocess.CompletedProcess[str]:
    """`python -m voicecoach ARGV` (or `python ARGV` with `python`), environment `env` added."""
    command = [sys.executable, *argv] if python else [sys.executable, "-m", "voicecoach", *argv]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
                pytest.fail("setpriv (util-linux) is needed to drop root's file capabilities")
            pytest.skip("running as root without setpriv: permissions cannot be tested")
        command = [setpriv, *NO_DAC, *command]
    return subprocess.run(
        command,
        env={**os.environ, **{k: str(v) for k, v in env.items()}},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
