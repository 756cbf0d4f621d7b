"""Measurements in fresh processes: a warm bot's peak RSS and the cold start of `advisor ask`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .corpus import REPO
from .ours import PINNED
from .stats import median

COLD_QUESTION = "Can I send customer data to Azure OpenAI?"


def clean_env(home: Path, knowledge: Path) -> dict:
    """The environment without the shell's ADVISOR_*/SLACK_* settings, pointing at ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "SLACK_"))}
    env.update(PINNED)
    env.update(
        {
            "ADVISOR_HOME": str(home),
            "ADVISOR_KNOWLEDGE_DIR": str(knowledge),
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


def warm_rss(home: Path, knowledge: Path, cwd: Path, questions: int = 20) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.warm_rss", str(home), str(knowledge), "--questions", str(questions)],
        cwd=cwd,
        env=clean_env(home, knowledge),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-1500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cold_ask(home: Path, knowledge: Path, cwd: Path, runs: int = 3) -> dict:
    """Wall time of a fresh ``python -m bot ask "..." --json`` (cwd has no .env)."""
    times, error = [], None
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "ask", COLD_QUESTION, "--json"],
            cwd=cwd,
            env=clean_env(home, knowledge),
            capture_output=True,
            text=True,
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            error = proc.stderr.strip()[-1500:]
            break
        try:
            json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            error = f"no JSON answer on stdout: {proc.stdout[-500:]!r}"
            break
        times.append(elapsed)
    return {"runs": times, "median_s": median(times) if times else None, "error": error}
