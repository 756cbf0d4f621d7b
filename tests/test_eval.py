"""The development question set over knowledge/ and the shared corpora; CI enforces its thresholds."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.core import AdvisorService
from bot.evaluation import EvalFileError, load_eval_set, evaluate

QUESTIONS = Path(__file__).parent / "eval" / "questions.yaml"


def test_question_set_shape():
    eval_set = load_eval_set(QUESTIONS)
    assert len(eval_set.questions) >= 60
    assert sum(not q.answerable for q in eval_set.questions) >= 8
    assert {"hit@5", "mrr", "abstention_accuracy", "valid_citations"} <= set(eval_set.thresholds)


def test_eval_meets_thresholds(corpora_index, embedder):
    settings, _ = corpora_index
    service = AdvisorService(settings)
    service._embedder = embedder
    report = evaluate(service, load_eval_set(QUESTIONS))
    hybrid = report["modes"]["hybrid"]
    print({mode: {k: v for k, v in row.items() if k != "misses"} for mode, row in report["modes"].items()})
    assert report["failed_thresholds"] == [], report["failed_thresholds"]
    # Fusion must not be worse than either retriever alone.
    assert hybrid["mrr"] >= report["modes"]["dense"]["mrr"]
    assert hybrid["hit@5"] >= max(report["modes"]["dense"]["hit@5"], report["modes"]["keyword"]["hit@5"])


@pytest.mark.parametrize("content,message", [
    ("questions: [", "cannot read"),
    ("- just a list", "'questions' list"),
    ("questions:\n  - expect: []\n", "question 1 needs 'q'"),
    ("questions: []\nthresholds: {precision: 1}\n", "unknown thresholds"),
])
def test_bad_question_files(tmp_path, content, message):
    path = tmp_path / "q.yaml"
    path.write_text(content)
    with pytest.raises(EvalFileError, match=message):
        load_eval_set(path)
