"""Run a sentence-transformers model through ONNX Runtime instead of torch.

Same vectors (the pooling and normalisation are part of the exported graph), but a process
that only embeds queries never imports torch: that is most of a cold start, and a few
hundred MB of resident memory. The graph is exported once, with torch, into a cache folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Sequence

EXPORT_VERSION = "1"


class OnnxUnsupported(RuntimeError):
    """The model's layout is not one this exporter reproduces; use the torch backend."""


def _model_config(model_dir: Path) -> tuple[str, bool, int]:
    modules = json.loads((model_dir / "modules.json").read_text())
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k not in ("Transformer", "Pooling", "Normalize") for k in kinds):
        raise OnnxUnsupported(f"unsupported module layout {kinds}")
    pooling_dir = model_dir / next(m["path"] for m in modules if m["type"].endswith("Pooling"))
    pooling = json.loads((pooling_dir / "config.json").read_text())
    if pooling.get("pooling_mode_mean_tokens"):
        mode = "mean"
    elif pooling.get("pooling_mode_cls_token"):
        mode = "cls"
    else:
        raise OnnxUnsupported("only mean or CLS pooling is exported")
    config = model_dir / "sentence_bert_config.json"
    max_len = json.loads(config.read_text()).get("max_seq_length", 256) if config.exists() else 256
    return mode, "Normalize" in kinds, int(max_len)


def cached_graph(model_dir: Path, cache_dir: Path) -> Path:
    """The exported graph for this exact model, exporting it on first use."""
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    digest = hashlib.sha1()
    for w in weights:
        stat = w.stat()
        digest.update(f"{w.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    digest.update(EXPORT_VERSION.encode())
    path = cache_dir / f"{model_dir.name}-{digest.hexdigest()[:12]}.onnx"
    if not path.exists():
        export(model_dir, path)
    return path


def export(model_dir: Path, dest: Path) -> None:
    import torch
    from transformers import AutoModel

    mode, normalize, _ = _model_config(model_dir)
    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if mode == "cls":
                vec = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(vec, p=2, dim=1) if normalize else vec

    dummy = torch.ones((1, 8), dtype=torch.long)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(f".tmp{os.getpid()}")
    axes = {
        "input_ids": {0: "batch", 1: "seq"},
        "attention_mask": {0: "batch", 1: "seq"},
        "token_type_ids": {0: "batch", 1: "seq"},
        "embedding": {0: "batch"},
    }
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about shape checks that are constant for padded encoder inputs.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(model),
            (dummy, dummy, torch.zeros_like(dummy)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(dest)  # atomic: a concurrent reader never sees half a graph


class OnnxEncoder:
    def __init__(self, model_dir: Path, cache_dir: Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        _, _, max_len = _model_config(model_dir)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_len)
        self.tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(cached_graph(model_dir, cache_dir)), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> list[list[float]]:
        import numpy as np

        # Similar lengths per batch: padding is wasted work.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[list[float] | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            with self._lock:  # the tokenizer's padding state is shared
                encoded = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            vectors = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            for j, i in enumerate(idx):
                out[i] = vectors[j].tolist()
        return out  # type: ignore[return-value]
