"""The ONNX backend gives the same vectors as sentence-transformers on torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ingest.embeddings import Embedder, EmbeddingModelError

TEXTS = [
    "Short.",
    "Data Residency Policy > Exceptions\n\nExceptions need written approval from the council.",
    "GenAI Implementation Approaches > Approach 1 > Cons\n\n" + "Vendor lock-in makes switching costly. " * 40,
]


@pytest.mark.slow  # loads the torch model beside the ONNX one
def test_onnx_matches_torch(tmp_path):
    onnx = Embedder(backend="onnx", cache_dir=tmp_path)
    torch_ = Embedder(backend="torch")
    a, b = onnx.embed(TEXTS), torch_.embed(TEXTS)  # one padded batch of very different lengths
    for u, v in zip(a, b):
        assert sum(x * y for x, y in zip(u, v)) > 0.9999
        assert abs(sum(x * x for x in u) - 1.0) < 1e-4
    assert list(tmp_path.glob("*.onnx"))


def test_query_embedding_does_not_import_torch(tmp_path):
    Embedder(backend="onnx", cache_dir=tmp_path).embed(["export the graph once"])
    code = (
        "import sys; from ingest.embeddings import Embedder; "
        f"Embedder(backend='onnx', cache_dir={str(tmp_path)!r}).embed_query('hello'); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "False", out.stderr


def test_unknown_backend_and_missing_model():
    with pytest.raises(EmbeddingModelError, match="unknown embedding backend"):
        Embedder(backend="tpu")
    with pytest.raises(EmbeddingModelError, match="could not load embedding model"):
        Embedder("/nonexistent/model", backend="torch").embed(["x"])
