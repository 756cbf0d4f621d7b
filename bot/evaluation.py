"""Answer quality on a question set that predicts real use.

Each answerable question carries an *evidence* quote: a short exact phrase of the passage that
answers it. Scoring is at chunk level (a retrieved chunk holds the evidence) and at what reaches
the user ("shown": the evidence is in the answer text or in a cited source), so it survives
re-chunking and does not reward the right document with the wrong passage. Unanswerable
questions must be refused. Every corpus of the set gets an index of its own (as a deployment
would), and every question is asked through hybrid, dense-only and keyword-only retrieval.

Questions are split into a ``dev`` part (choose defaults and thresholds on it) and a fixed
``test`` part (report it; floors are enforced on it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Callable, Iterable

import yaml

MODES = ("hybrid", "dense", "keyword")
METRICS = ("hit@1", "hit@3", "hit@5", "mrr", "shown", "abstain_unanswerable", "false_abstain")
# Metrics where lower is better (floors are ceilings for them).
LOWER_IS_BETTER = frozenset({"false_abstain"})
SPLITS = ("dev", "test")


class EvalFileError(ValueError):
    pass


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    corpus: str
    question: str
    split: str
    answerable: bool
    document: str | None = None
    evidence: str | None = None


@dataclass
class EvalSet:
    path: Path
    corpora: dict[str, Path]
    questions: list[EvalQuestion]
    floors: dict[str, float] = field(default_factory=dict)

    def select(self, split: str = "all", corpora: Iterable[str] = ()) -> list[EvalQuestion]:
        wanted = set(corpora)
        return [
            q for q in self.questions if (split == "all" or q.split == split) and (not wanted or q.corpus in wanted)
        ]


def load_eval_set(path: Path | str) -> EvalSet:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise EvalFileError(f"{path}: cannot read question set: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise EvalFileError(f"{path}: expected a mapping with a 'questions' list")
    corpora_spec = data.get("corpora") or {}
    if not isinstance(corpora_spec, dict):
        raise EvalFileError(f"{path}: 'corpora' maps a corpus name to a folder")
    corpora = {str(name): (path.parent / str(folder)).resolve() for name, folder in corpora_spec.items()}
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for n, item in enumerate(data["questions"], 1):
        where = f"{path}: question {n}"
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not item["question"].strip():
            raise EvalFileError(f"{where} needs 'question' (text)")
        qid = str(item.get("id") or f"q{n}")
        if qid in seen:
            raise EvalFileError(f"{where}: duplicate id {qid!r}")
        seen.add(qid)
        corpus = item.get("corpus")
        if corpus not in corpora:
            raise EvalFileError(f"{where}: corpus {corpus!r} is not one of {sorted(corpora)}")
        split = item.get("split", "dev")
        if split not in SPLITS:
            raise EvalFileError(f"{where}: split must be one of {', '.join(SPLITS)}")
        answerable = bool(item.get("answerable", True))
        evidence = item.get("evidence")
        if answerable and not (isinstance(evidence, str) and evidence.strip()):
            raise EvalFileError(f"{where}: an answerable question needs 'evidence' (an exact quote)")
        questions.append(
            EvalQuestion(
                qid,
                corpus,
                item["question"].strip(),
                split,
                answerable,
                item.get("document"),
                evidence if answerable else None,
            )
        )
    floors = data.get("floors") or {}
    unknown = set(floors) - set(METRICS)
    if unknown:
        raise EvalFileError(f"{path}: unknown floors {sorted(unknown)}; known: {', '.join(METRICS)}")
    return EvalSet(path, corpora, questions, {k: float(v) for k, v in floors.items()})


# --- matching evidence ------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    """Lower case, words only: Markdown marks, punctuation and line breaks do not count."""
    return " ".join(_NON_WORD.split(text.lower())).strip()


def contains_evidence(text: str, evidence: str) -> bool:
    """Whether ``text`` holds the evidence: exactly (after normalising), or, where a chunk
    boundary or a loader's clean-up cut it, most of it as one contiguous run of words."""
    ev, body = normalize(evidence), normalize(text)
    if not ev:
        return False
    if ev in body:
        return True
    a, b = ev.split(), body.split()
    if len(a) < 4:
        return False
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size >= max(4, round(0.7 * len(a)))


# --- running ------------------------------------------------------------------------------------


def _rank(chunks: list[dict], evidence: str) -> int | None:
    return next((i for i, c in enumerate(chunks, 1) if contains_evidence(c["text"], evidence)), None)


def score_corpus(
    ask: Callable[[str, str], object], questions: list[EvalQuestion], modes: Iterable[str] = MODES
) -> dict[str, dict]:
    """Metrics per mode for one corpus; ``ask(question, mode)`` returns an ``Answer`` whose
    ``retrieved`` lists the chunks retrieval returned, best first."""
    results: dict[str, dict] = {}
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    for mode in modes:
        hits = {1: 0, 3: 0, 5: 0}
        rr = 0.0
        shown = answered = false_abstain = abstained_ok = 0
        misses: list[dict] = []
        for q in questions:
            answer = ask(q.question, mode)
            if not q.answerable:
                abstained_ok += bool(answer.abstained)
                if not answer.abstained:
                    misses.append({"id": q.id, "why": "answered an unanswerable question"})
                continue
            first = _rank(answer.retrieved, q.evidence)
            for cut in hits:
                hits[cut] += first is not None and first <= cut
            rr += 1.0 / first if first else 0.0
            if answer.abstained:
                false_abstain += 1
                misses.append({"id": q.id, "why": "refused an answerable question", "rank": first})
                continue
            answered += 1
            is_shown = contains_evidence(answer.text, q.evidence) or any(
                contains_evidence(s.get("text", ""), q.evidence) for s in answer.sources
            )
            shown += is_shown
            if not is_shown:
                misses.append({"id": q.id, "why": "evidence not shown", "rank": first})
        n = len(answerable) or 1
        results[mode] = {
            "hit@1": hits[1] / n,
            "hit@3": hits[3] / n,
            "hit@5": hits[5] / n,
            "mrr": rr / n,
            "shown": shown / answered if answered else 0.0,
            "abstain_unanswerable": abstained_ok / len(unanswerable) if unanswerable else 1.0,
            "false_abstain": false_abstain / n,
            "answerable": len(answerable),
            "unanswerable": len(unanswerable),
            "misses": misses,
        }
    return results


def evaluate(
    service_for: Callable[[str, Path], object],
    eval_set: EvalSet,
    *,
    split: str = "dev",
    corpora: Iterable[str] = (),
    modes: Iterable[str] = MODES,
    k: int = 5,
) -> dict:
    """Run the set: ``service_for(corpus, folder)`` gives an AdvisorService whose index holds
    exactly that corpus. Returns per-corpus, per-mode metrics and the floors missed (hybrid)."""
    questions = eval_set.select(split, corpora)
    report: dict = {"split": split, "questions": len(questions), "corpora": {}, "failed_floors": []}
    for corpus in dict.fromkeys(q.corpus for q in questions):
        service = service_for(corpus, eval_set.corpora[corpus])
        mine = [q for q in questions if q.corpus == corpus]

        def ask(question: str, mode: str, service=service):
            return service.ask(question, top_k=k, mode=mode, record=False)

        rows = score_corpus(ask, mine, modes)
        report["corpora"][corpus] = {
            m: {key: round(v, 4) if isinstance(v, float) else v for key, v in r.items()} for m, r in rows.items()
        }
        hybrid = rows.get("hybrid")
        for metric, floor in eval_set.floors.items():
            if hybrid is None:
                break
            value = hybrid[metric]
            bad = value > floor if metric in LOWER_IS_BETTER else value < floor
            if bad:
                sign = ">" if metric in LOWER_IS_BETTER else "<"
                report["failed_floors"].append(f"{corpus}: {metric} {value:.3f} {sign} {floor}")
    return report


def format_table(report: dict) -> str:
    """One line per corpus and mode."""
    header = f"{'corpus':<14}{'mode':<9}{'n':>4}" + "".join(f"{m:>22}" for m in METRICS)
    lines = [f"split {report['split']}: {report['questions']} questions", header]
    for corpus, rows in report["corpora"].items():
        for mode, row in rows.items():
            n = row["answerable"] + row["unanswerable"]
            lines.append(f"{corpus:<14}{mode:<9}{n:>4}" + "".join(f"{row[m]:>22.3f}" for m in METRICS))
    return "\n".join(lines)
