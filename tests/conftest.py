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
    from ingest import sync

    home = tmp_path_factory.mktemp("corpora") / "home"
    settings = Settings(_env_file=None, ADVISOR_HOME=str(home), ADVISOR_KNOWLEDGE_DIR=str(KNOWLEDGE))
    report = sync(KNOWLEDGE, home, paths=corpus_paths(), embedder=embedder, exclude=NON_DOCUMENTS)
    return settings, report
