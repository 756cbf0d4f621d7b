"""The ``advisor`` CLI run as a user runs it: a separate process, with its home and knowledge
folder given by the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, home: Path, knowledge: Path | None = None, stdin: str | None = None, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        input=stdin,
        env={
            **os.environ,
            "ADVISOR_HOME": str(home),
            "ADVISOR_KNOWLEDGE_DIR": str(knowledge or ROOT / "knowledge"),
            **env,
        },
    )
