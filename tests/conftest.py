from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"

requires_shared = pytest.mark.skipif(
    not CORPORA.is_dir(), reason="../shared/corpora is absent (CI has it); tests on real corpora skipped"
)


@pytest.fixture(scope="session")
def embedder():
    from ingest.embeddings import Embedder

    return Embedder()


@pytest.fixture()
def knowledge_copy(tmp_path) -> Path:
    dest = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, dest)
    return dest


@pytest.fixture()
def make_settings(tmp_path, monkeypatch):
    """Settings isolated from the developer's .env and environment."""
    from bot.settings import Settings

    for key in list(os.environ):
        if key.startswith(("ADVISOR_", "SLACK_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)

    def make(**overrides) -> Settings:
        values = {"ADVISOR_HOME": str(tmp_path / "home"), "ADVISOR_KNOWLEDGE_DIR": str(KNOWLEDGE)}
        values.update({k: str(v) for k, v in overrides.items()})
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, embedder):
    """The bundled knowledge, ingested once for the read-only tests of the session."""
    from bot.settings import Settings
    from bot.core import AdvisorService

    home = tmp_path_factory.mktemp("built") / "home"
    settings = Settings(_env_file=None, ADVISOR_HOME=str(home), ADVISOR_KNOWLEDGE_DIR=str(KNOWLEDGE))
    service = AdvisorService(settings, embedder=embedder)
    report = service.ingest()
    assert not report.failed, report.failed
    return settings


def corpus_paths() -> list[Path]:
    return [KNOWLEDGE, CORPORA / "site-policy", CORPORA / "18f-handbook"]


@pytest.fixture(scope="session")
def corpora_index(tmp_path_factory, embedder):
    """knowledge/ plus both shared corpora in one index, built once (about three minutes)."""
    if not CORPORA.is_dir():
        pytest.skip("../shared/corpora is absent (CI has it)")
    from bot.settings import Settings
    from bot.core import NON_DOCUMENTS
    from ingest import SyncOptions, sync

    home = tmp_path_factory.mktemp("corpora") / "home"
    settings = Settings(_env_file=None, ADVISOR_HOME=str(home), ADVISOR_KNOWLEDGE_DIR=str(KNOWLEDGE))
    report = sync(KNOWLEDGE, home, SyncOptions(paths=corpus_paths(), exclude=NON_DOCUMENTS), embedder=embedder)
    return settings, report


# --- the fast lane (`make check` = pytest -m "not slow") ------------------------------------------
# A test is slow when it starts a server (any fixture below, or a mock/model server in its body), a
# cold process (subprocess, directly or through a helper of its module) or indexes the shared
# corpora; modules that index a fresh folder per test say so with their own pytestmark. Marked here, from what the
# test uses, so a new test lands in the right lane without anyone remembering to mark it.
SERVER_FIXTURES = {"bot", "make_bot", "socket_bot", "model_bot", "mock_slack", "chroma_server"}
# Fixtures that index something big (the shared corpora) are slow for the same reason.
SLOW_FIXTURES = SERVER_FIXTURES | {"corpora_index"}
STARTS_SOMETHING = {"subprocess", "MockOpenAI", "MockSlack", "MockSocketMode", "CliRunner"}


def _starters(module) -> set[str]:
    """Names of the module's functions that start a server or a process, directly or not."""
    import ast
    import inspect

    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return set()
    calls = {
        node.name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }
    starters = {name for name, used in calls.items() if used & STARTS_SOMETHING}
    grew = True
    while grew:
        more = {name for name, used in calls.items() if used & starters} - starters
        starters |= more
        grew = bool(more)
    return starters


def pytest_collection_modifyitems(config, items):
    by_module: dict[object, set[str]] = {}
    for item in items:
        module = getattr(item, "module", None)
        if module not in by_module:
            by_module[module] = _starters(module) if module else set()
        name = getattr(getattr(item, "function", None), "__name__", "")
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SLOW_FIXTURES or ({name} | fixtures) & by_module[module]:
            item.add_marker(pytest.mark.slow)
