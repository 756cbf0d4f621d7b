"""The evaluation set (tests/eval/questions.yaml): its shape, the scoring rules, and the floors
that CI enforces on the held-out test split, per corpus."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.core import AdvisorService
from bot.evaluation import EvalFileError, contains_evidence, evaluate, load_eval_set, score_corpus, EvalQuestion
from tests.eval.build_set import shared_run

from .conftest import CORPORA

pytestmark = pytest.mark.slow  # builds a real index per corpus / loads a real model

QUESTIONS = Path(__file__).parent / "eval" / "questions.yaml"


def test_question_set_shape():
    eval_set = load_eval_set(QUESTIONS)
    questions = eval_set.questions
    assert len(questions) >= 200
    assert sum(not q.answerable for q in questions) >= 0.25 * len(questions)
    assert sum(q.split == "test" for q in questions) >= 0.40 * len(questions)
    assert {q.corpus for q in questions} == {"knowledge", "guidance-txt", "site-policy", "18f-handbook"}
    assert all(q.evidence for q in questions if q.answerable)
    assert {"hit@5", "mrr", "shown", "abstain_unanswerable", "false_abstain"} <= set(eval_set.floors)


def test_questions_do_not_reuse_their_passage_wording():
    """The rule the set was built with still holds (a question edited later must obey it too)."""
    from tests.eval.build_set import passage_of

    eval_set = load_eval_set(QUESTIONS)
    for q in eval_set.questions:
        if not q.answerable:
            continue
        path = eval_set.corpora[q.corpus] / q.document
        if not path.exists():
            continue  # ../shared is absent here
        run = shared_run(q.question, passage_of(path.read_text(encoding="utf-8"), q.evidence))
        assert run is None, f"{q.id} shares '{run}' with its passage"


def test_evidence_matching():
    assert contains_evidence("Title > Sec\n\nSpend **over $5,000** needs the CFO.", "spend over $5,000 needs")
    assert not contains_evidence("Spend needs approval.", "spend over $5,000 needs")
    # a chunk boundary that cut the quote: most of it, contiguous, still counts
    assert contains_evidence(
        "the request must include the ticket number and", "the request must include the ticket number and the owner"
    )
    assert not contains_evidence("", "anything")


def test_scoring_counts_rank_shown_and_abstention():
    def answer(text, retrieved, abstained=False, sources=()):
        return SimpleNamespace(
            text=text, retrieved=[{"text": t} for t in retrieved], abstained=abstained, sources=list(sources)
        )

    replies = {
        "a": answer("x", ["nothing", "the CFO approves spend"], sources=[{"text": "the CFO approves spend"}]),
        "b": answer("not covered", ["nothing"], abstained=True),
        "u": answer("made up", ["nothing"]),
    }
    questions = [
        EvalQuestion("a", "c", "a", "dev", True, "d", "CFO approves spend"),
        EvalQuestion("b", "c", "b", "dev", True, "d", "a quote that is nowhere"),
        EvalQuestion("u", "c", "u", "dev", False),
    ]
    row = score_corpus(lambda q, mode: replies[q], questions, modes=["hybrid"])["hybrid"]
    assert row["hit@1"] == 0 and row["hit@3"] == 0.5 and row["mrr"] == 0.25
    assert row["shown"] == 1.0 and row["false_abstain"] == 0.5 and row["abstain_unanswerable"] == 0.0


@pytest.mark.skipif(not CORPORA.is_dir(), reason="../shared/corpora is absent (CI has it); the test split needs it")
def test_test_split_meets_the_floors(tmp_path_factory, embedder):
    """The held-out split, every corpus with its own index, through the defaults a user gets."""
    from bot.settings import Settings

    home = tmp_path_factory.mktemp("eval") / "home"
    service = AdvisorService(Settings(_env_file=None, ADVISOR_HOME=str(home)), embedder=embedder)
    eval_set = load_eval_set(QUESTIONS)
    report = evaluate(service.corpus_service, eval_set, split="test")
    from bot.evaluation import format_table

    print("\n" + format_table(report))
    assert report["failed_floors"] == [], report["failed_floors"]
    for corpus, rows in report["corpora"].items():
        hybrid = rows["hybrid"]
        assert hybrid["hit@5"] >= max(rows["dense"]["hit@5"], rows["keyword"]["hit@5"]) - 0.05, corpus


@pytest.mark.parametrize(
    "content,message",
    [
        ("questions: [", "cannot read"),
        ("- just a list", "'questions' list"),
        ("corpora: {k: .}\nquestions:\n  - corpus: k\n", "question 1 needs 'question'"),
        ("corpora: {k: .}\nquestions:\n  - {question: q, corpus: other}\n", "corpus 'other'"),
        ("corpora: {k: .}\nquestions:\n  - {question: q, corpus: k}\n", "needs 'evidence'"),
        ("corpora: {k: .}\nquestions:\n  - {question: q, corpus: k, answerable: false, split: later}\n", "split"),
        (
            "corpora: {k: .}\nquestions:\n  - {id: a, question: q, corpus: k, answerable: false}\n"
            "  - {id: a, question: r, corpus: k, answerable: false}\n",
            "duplicate id",
        ),
        ("corpora: {}\nquestions: []\nfloors: {precision: 1}\n", "unknown floors"),
    ],
)
def test_bad_question_files(tmp_path, content, message):
    path = tmp_path / "q.yaml"
    path.write_text(content)
    with pytest.raises(EvalFileError, match=message):
        load_eval_set(path)
