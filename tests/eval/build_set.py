"""Builds tests/eval/questions.yaml from annotated drafts (one per corpus).

How the set is made: a writer who saw only a document's title and a short summary
(tests/eval/summaries/) wrote each question; an annotator then found an exact evidence quote in
the real document, or confirmed that nothing in the corpus answers an unanswerable one. This
script checks every quote against its document, rejects questions that share a run of four or
more content words with the passage around their evidence (they would test word matching, not
understanding), and assigns a fixed dev/test split (45% test, stratified by corpus and by
answerability, by a hash of the id so that adding questions never moves old ones).

    python -m tests.eval.build_set tests/eval/drafts/*.annotated.yaml
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CORPORA = {
    "knowledge": "../../knowledge",
    "guidance-txt": "../../../shared/seed",
    "site-policy": "../../../shared/corpora/site-policy",
    "18f-handbook": "../../../shared/corpora/18f-handbook",
}
PREFIX_TO_CORPUS = {"kn": "knowledge", "gt": "guidance-txt", "sp": "site-policy", "hb": "18f-handbook"}
TEST_SHARE = 0.45
RUN = 4  # content words in a row that a question may not share with its passage
WINDOW = 700  # characters either side of the evidence that make up "the passage"

STOP = frozenset(
    "a an and are as at be been being but by can could did do does doing for from had has have how i if in "
    "into is it its me my no not of on or our ours should so than that the their them then there these they "
    "this those to too us was we were what when where which while who whom why will with would you your "
    "yours am any all about also just only own same some such very s t".split()
)


def content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP]


def shared_run(question: str, passage: str, n: int = RUN) -> str | None:
    q, p = content_words(question), content_words(passage)
    grams = {tuple(p[i : i + n]) for i in range(len(p) - n + 1)}
    for i in range(len(q) - n + 1):
        if tuple(q[i : i + n]) in grams:
            return " ".join(q[i : i + n])
    return None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def passage_of(text: str, evidence: str) -> str:
    flat = _norm(text)
    at = flat.find(_norm(evidence))
    return flat[max(0, at - WINDOW) : at + len(evidence) + WINDOW]


def split_of(items: list[dict]) -> dict[str, str]:
    """Per stratum, the ids with the lowest hashes go to test."""
    ranked = sorted(items, key=lambda it: hashlib.sha256(it["id"].encode()).hexdigest())
    cut = round(len(ranked) * TEST_SHARE)
    return {it["id"]: ("test" if i < cut else "dev") for i, it in enumerate(ranked)}


def build(drafts: list[Path]) -> tuple[list[dict], list[str]]:
    kept: list[dict] = []
    rejected: list[str] = []
    for draft in drafts:
        for item in yaml.safe_load(draft.read_text(encoding="utf-8")) or []:
            corpus = PREFIX_TO_CORPUS[item["id"].split("-")[0]]
            status = item.get("status")
            if status == "drop":
                rejected.append(f"{item['id']}: dropped by the annotator ({item.get('note', '')})")
                continue
            entry = {"id": item["id"], "corpus": corpus, "question": item["question"].strip()}
            if status == "unanswerable":
                entry["answerable"] = False
            elif status == "ok":
                path = (HERE / CORPORA[corpus] / item["document"]).resolve()
                text = path.read_text(encoding="utf-8")
                if _norm(item["evidence"]) not in _norm(text):
                    rejected.append(f"{item['id']}: evidence not found in {item['document']}")
                    continue
                run = shared_run(item["question"], passage_of(text, item["evidence"]))
                if run:
                    rejected.append(f"{item['id']}: shares '{run}' with its passage")
                    continue
                entry.update(answerable=True, document=item["document"], evidence=item["evidence"].strip())
            else:
                rejected.append(f"{item['id']}: unknown status {status!r}")
                continue
            kept.append(entry)
    splits: dict[str, str] = {}
    for corpus in PREFIX_TO_CORPUS.values():
        for answerable in (True, False):
            splits.update(split_of([e for e in kept if e["corpus"] == corpus and e["answerable"] == answerable]))
    for entry in kept:
        entry["split"] = splits[entry["id"]]
    return kept, rejected


HEADER = """\
# Evaluation set: realistic questions over knowledge/, the guidance as plain text and the shared
# corpora, each with an exact evidence quote (chunk-level scoring). Built by tests/eval/build_set.py
# from questions written from summaries only (tests/eval/summaries/); see that script for the rules.
# Choose every default and threshold on `split: dev`; `split: test` is held out and reported.
"""


def main(argv: list[str]) -> int:
    drafts = [Path(a) for a in argv] or sorted((HERE / "drafts").glob("*.annotated.yaml"))
    kept, rejected = build(drafts)
    out = HERE / "questions.yaml"
    existing = yaml.safe_load(out.read_text(encoding="utf-8")) if out.exists() else {}
    floors = (existing or {}).get("floors") or {}
    data = {"corpora": CORPORA, "floors": floors, "questions": kept}
    out.write_text(HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    for line in rejected:
        print("rejected", line)
    by = {}
    for e in kept:
        key = (e["corpus"], e["split"], e["answerable"])
        by[key] = by.get(key, 0) + 1
    for key in sorted(by):
        print(key, by[key])
    print(
        f"{len(kept)} kept, {len(rejected)} rejected, "
        f"{sum(not e['answerable'] for e in kept) / max(1, len(kept)):.0%} unanswerable"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
