"""Hostile files and settings for the CLI: a batch file with binary lines answers every valid
line and reports each bad one in its place; bad settings fail with the variable's name."""

from __future__ import annotations

import json

import pytest

from bot.cli import batch_lines

from tests.support.cli import run_cli


def _cli(*args, home, **env):
    return run_cli(*args, home=home, **env)


def test_batch_lines_reports_each_bad_line():
    data = b"What are the pros of PaaS?\n\xff\xfe\x00binary\n\nWhat is hybrid?\r\nnul\x00inside\n" + b"x" * 5000 + b"\n"
    items = list(batch_lines(data))
    assert [(n, q is not None) for n, q, _ in items] == [(1, True), (2, False), (4, True), (5, False), (6, False)]
    errors = {n: e for n, _, e in items if e}
    assert "not UTF-8" in errors[2] and "control characters" in errors[5] and "longer than" in errors[6]
    assert items[2][1] == "What is hybrid?"


def test_batch_with_binary_lines_answers_the_valid_ones(built_index, tmp_path):
    batch = tmp_path / "questions.txt"
    batch.write_bytes(
        b"What are the pros of a hybrid strategy?\n\x89PNG\r\n\x1a\n\x00\x00\xff\nWhen does self-hosting make sense?\n"
    )
    out = _cli("ask", "--batch", str(batch), "--json", home=built_index.home)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    answers = [x for x in lines if "answer" in x]
    errors = [x for x in lines if "error" in x]
    assert len(answers) == 2 and [a["line"] for a in answers] == [1, 5]
    assert errors and all(isinstance(e["line"], int) and e["error"] for e in errors)


@pytest.mark.parametrize(
    "env,name",
    [
        ({"ADVISOR_MIN_RELEVANCE": "1.5"}, "ADVISOR_MIN_RELEVANCE"),
        ({"ADVISOR_TOP_K": "0"}, "ADVISOR_TOP_K"),
        ({"ADVISOR_LLM_TIMEOUT": "-3"}, "ADVISOR_LLM_TIMEOUT"),
        ({"ADVISOR_MAX_FILE_MB": "abc"}, "ADVISOR_MAX_FILE_MB"),
        ({"ADVISOR_HTTP_THREADS": "100000"}, "ADVISOR_HTTP_THREADS"),
        ({"ADVISOR_LOG_LEVEL": "LOUD"}, "ADVISOR_LOG_LEVEL"),
    ],
)
def test_out_of_range_settings_fail_with_the_variable(tmp_path, env, name):
    out = _cli("status", home=tmp_path / "home", **env)
    assert out.returncode != 0 and name in out.stderr and "Traceback" not in out.stderr


def test_advisor_home_that_is_a_file_fails_clearly(tmp_path):
    home = tmp_path / "not-a-folder"
    home.write_text("x")
    out = _cli("status", home=home)
    assert out.returncode != 0 and "ADVISOR_HOME" in out.stderr and "is a file" in out.stderr
    assert "Traceback" not in out.stderr
    inside = _cli("status", home=home / "sub")
    assert inside.returncode != 0 and "ADVISOR_HOME" in inside.stderr and "Traceback" not in inside.stderr
