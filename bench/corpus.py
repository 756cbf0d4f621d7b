"""The benchmark corpus: knowledge/ plus the shared corpora, copied into a scratch workspace.

Both pipelines read the same files. Source keys follow the ingest's rule (relative to the
knowledge folder inside it, the absolute path outside it), which is what the eval set's
suffixes expect: ``policies/x.md``, ``site-policy/Policies/x.md``, ``18f-handbook/pages/...``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loaders import is_supported

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = REPO / "knowledge"
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
CORPUS_NAMES = ("site-policy", "18f-handbook")
EVAL_QUESTIONS = REPO / "tests" / "eval" / "questions.yaml"


class CorporaMissing(SystemExit):
    pass


def check_corpora(root: Path, names: tuple[str, ...]) -> None:
    missing = [n for n in names if not (root / n).is_dir()]
    if missing:
        raise CorporaMissing(
            f"bench: the shared corpora are missing: {', '.join(str(root / n) for n in missing)}.\n"
            f"The benchmarks run on ../shared/corpora next to the repository (folders "
            f"{' and '.join(CORPUS_NAMES)}); pass --corpora PATH if they live elsewhere."
        )


@dataclass
class Bundle:
    """The scratch copy the benchmarks ingest: ``data/knowledge`` and ``data/corpora/<name>``."""

    root: Path
    corpus_names: tuple[str, ...]
    files: list[Path] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def knowledge(self) -> Path:
        return self.data / "knowledge"

    def corpus(self, name: str) -> Path:
        return self.data / "corpora" / name

    @property
    def ingest_roots(self) -> list[Path]:
        return [self.knowledge, *(self.corpus(n) for n in self.corpus_names)]

    def source_key(self, path: Path) -> str:
        try:
            return path.relative_to(self.knowledge).as_posix()
        except ValueError:
            return path.as_posix()

    def relative(self, path: Path | str) -> str:
        """Where a file sits inside the bundle (``corpora/site-policy/...``): copy prefixes go before it."""
        return Path(path).relative_to(self.data).as_posix()


def visible_documents(root: Path, exclude: tuple[str, ...]) -> list[Path]:
    """The files the ingest considers under ``root``: no hidden parts, not excluded, supported."""
    out = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).parts
        if any(part.startswith(".") for part in rel) or path.name in exclude or not is_supported(path):
            continue
        out.append(path)
    return out


def prepare(root: Path, corpora: Path, names: tuple[str, ...], exclude: tuple[str, ...]) -> Bundle:
    bundle = Bundle(root, names)
    shutil.copytree(KNOWLEDGE, bundle.knowledge)
    for name in names:
        shutil.copytree(corpora / name, bundle.corpus(name))
    bundle.files = [p for r in bundle.ingest_roots for p in visible_documents(r, exclude)]
    return bundle


def pick_file_to_change(folder: Path, exclude: tuple[str, ...]) -> Path:
    """A deterministic, ordinary-sized page of ``folder``: the first of 2-20 KB in a subfolder
    (top-level files are READMEs and licences)."""
    files = visible_documents(folder, exclude)
    for path in sorted(files, key=lambda p: (p.parent == folder, str(p))):
        if 2_000 <= path.stat().st_size <= 20_000:
            return path
    return files[0]
