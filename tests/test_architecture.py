"""The layering rules in ARCHITECTURE.md, checked on the source: the shells (Slack, CLI) call the
core's methods and never reach its internals; ingest never imports bot."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHELLS = sorted((ROOT / "bot" / "slack").glob("*.py")) + [ROOT / "bot" / "cli.py"]
INTERNALS = re.compile(r"\bservice\.(store|index|sessions|frameworks|router|embedder|retriever|_\w+)\b")


def test_shells_do_not_reach_through_the_core():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in SHELLS
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if INTERNALS.search(line) and not line.lstrip().startswith("#")
    ]
    assert not found, "\n".join(found)


def test_ingest_never_imports_bot():
    imports = re.compile(r"^\s*(from\s+bot\b|import\s+bot\b|from\s+\.\.bot\b)", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "ingest").rglob("*.py") if imports.search(p.read_text())]
    assert not offenders
