"""ADVISOR_CHROMA_URL: the same ingest and retrieval against a Chroma server (`chroma run`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from bot.core import AdvisorService
from ingest import IngestRunError, SyncOptions, sync

from .support.servers import free_port, server_process


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI ships with chromadb"
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    url = f"http://127.0.0.1:{port}"
    command = [chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with server_process(command, url + "/api/v2/heartbeat", data / "server.log", timeout=60):
        yield url


def test_ingest_and_answer_through_a_chroma_server(chroma_server, make_settings, embedder, tmp_path):
    settings = make_settings(ADVISOR_CHROMA_URL=chroma_server)
    service = AdvisorService(settings, embedder=embedder)
    report = service.ingest()
    assert report.failed == [] and len(report.added) >= 8
    assert not (settings.home / "chroma").exists()  # vectors live on the server
    assert service.status()["store"] == chroma_server
    answer = service.ask("What are the cons of a hybrid strategy?")
    assert not answer.abstained and answer.sources
    again = service.ingest()
    assert len(again.unchanged) == len(report.added)
    assert service.index.missing_vectors() == set()


def test_unreachable_chroma_server_is_a_run_error(make_settings, embedder, tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\ntext")
    with pytest.raises(IngestRunError, match="Chroma"):
        sync(folder, tmp_path / "home", SyncOptions(chroma_url="http://127.0.0.1:9"), embedder=embedder)
    with pytest.raises(IngestRunError, match="not a URL"):
        sync(folder, tmp_path / "home2", SyncOptions(chroma_url="chroma-server"), embedder=embedder)
