"""The ``advisor`` command: a thin click shell over the core service."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:  # pydantic's ValidationError is one; its message names the variable
        raise click.ClickException(f"invalid configuration: {exc}") from None


def _service(ctx: click.Context):
    from .core import AdvisorService

    if ctx.obj is None:
        ctx.obj = AdvisorService(_settings())
    return ctx.obj


def _emit(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="genai-strategy-advisor")
def main() -> None:
    """GenAI Strategy Advisor: cited answers on GenAI adoption and your policies."""


# --- knowledge ----------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--full", is_flag=True, help="Rebuild the whole index from scratch.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], full: bool, as_json: bool) -> None:
    """Sync the knowledge folder (or just PATHS) into the index."""
    from ingest import IngestRunError

    service = _service(ctx)
    show_bar = not as_json and sys.stderr.isatty()
    try:
        if show_bar:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("Ingesting", total=None)

                def progress(done: int, total: int, source: str) -> None:
                    bar.update(task, completed=done, total=total, description=source[-40:])

                report = service.ingest(list(paths) or None, full=full, progress=progress)
        else:
            report = service.ingest(list(paths) or None, full=full)
    except IngestRunError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        _emit(report.to_dict())
    else:
        _print_ingest(report, full)
    if report.failed:
        # A release step or a cron job must notice; the documents that loaded are in the index.
        click.echo(f"{len(report.failed)} document(s) failed to ingest; the others are in the index.", err=True)
        ctx.exit(1)


def _print_ingest(report, full: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    data = report.to_dict()
    # After --full every document counts as added: say why, so it doesn't read as new documents.
    table = Table(title="Ingest summary" + (" (full rebuild: every document re-indexed)" if full else ""))
    for col in ("added", "updated", "unchanged", "removed", "failed", "chunks", "seconds"):
        table.add_column(col, justify="right")
    table.add_row(
        *(
            str(len(data[c]) if c == "failed" else data[c])
            for c in ("added", "updated", "unchanged", "removed", "failed", "chunks", "seconds")
        )
    )
    console = Console()
    console.print(table)
    for failure in report.failed:
        console.print(f"[red]failed[/red] {failure['path']}: {failure['error']}", highlight=False)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Documents, chunks, last run, embedding model and store location."""
    from .core import status_before_any_state

    info = status_before_any_state(_settings()) or _service(ctx).status()
    if as_json:
        _emit(info)
        return
    for key, value in info.items():
        if key == "last_run" and value:
            value = (
                f"{value['finished_at'] or value['started_at']} ({value['status']}): "
                f"+{value['added']} ~{value['updated']} ={value['unchanged']} "
                f"-{value['removed']} failed {value['failed']}"
            )
        click.echo(f"{key.replace('_', ' ')}: {value if value not in (None, '') else '-'}")


# --- answers ------------------------------------------------------------------------------


def _print_answer(answer) -> None:
    click.echo(answer.text)
    if answer.sources:
        click.echo("\nSources:" if not answer.abstained else "\nClosest documents:")
        for s in answer.sources:
            section = f" › {s['section']}" if s["section"] else ""
            click.echo(f"  [{s['n']}] {s['title']}{section}  ({s['source']})")
    click.secho(f"\n{answer.route_label} · {answer.latency_ms:.0f} ms", dim=True)


def _answer_or_fail(service, question: str, **kwargs):
    from .llm.backends import BackendConfigError

    try:
        return service.ask(question, **kwargs)
    except BackendConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.argument("question", required=False)
@click.option("--batch", type=click.File("rb"), help="Answer one question per line of FILE (JSON Lines with --json).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--top-k", type=click.IntRange(1, 50), default=None, help="Sources to retrieve (ADVISOR_TOP_K).")
@click.option(
    "--as-user",
    default=None,
    metavar="SLACK_USER_ID",
    help="Answer as this Slack user would see it (admins checking audiences; needs SLACK_BOT_TOKEN).",
)
@click.option(
    "--in-channel",
    default=None,
    metavar="SLACK_CHANNEL_ID",
    help="With --as-user: as if asked in this channel (everyone in it reads the answer).",
)
@click.pass_context
def ask(
    ctx: click.Context,
    question: str | None,
    batch,
    as_json: bool,
    top_k: int | None,
    as_user: str | None,
    in_channel: str | None,
) -> None:
    """Answer QUESTION from the guidance and policies, with citations.

    With --batch, every valid line is answered; a line that cannot be read (not UTF-8, binary,
    too long) is reported in its place, with its number, and the exit status is 1."""
    if (question is None) == (batch is None):
        raise click.UsageError("give either a QUESTION or --batch FILE")
    if in_channel and not as_user:
        raise click.UsageError("--in-channel needs --as-user")
    service = _service(ctx)
    _check_index(service)
    viewer = _simulated_viewer(service, as_user, in_channel) if as_user else None
    items = [(None, question, None)] if question is not None else list(batch_lines(batch.read()))
    bad = 0
    for n, (line_no, q, error) in enumerate(items):
        if error is not None:
            bad += 1
            if as_json:
                _emit({"line": line_no, "error": error})
            else:
                click.echo(f"line {line_no}: {error}", err=True)
            continue
        answer = _answer_or_fail(service, q, top_k=top_k, user=as_user or "cli", viewer=viewer)
        if as_json:
            _emit({**answer.to_dict(), **({"line": line_no} if line_no else {})})
        else:
            _print_answer(answer)
            if n < len(items) - 1:
                click.echo("\n" + "-" * 60 + "\n")
    if bad:
        ctx.exit(1)


def _simulated_viewer(service, user: str, channel: str | None):
    """What a Slack user would be shown (the local user otherwise sees everything)."""
    if not service.settings.secret("slack_bot_token"):
        raise click.UsageError("--as-user looks the user up in Slack: set SLACK_BOT_TOKEN")
    from .slack.app import web_client
    from .slack.audience import AudienceResolver

    resolver = AudienceResolver(service.audience_groups)
    return resolver.viewer(web_client(service.settings), user, channel or "", private=not channel)


MAX_QUESTION_CHARS = 4000


def batch_lines(data: bytes):
    """(line number, question, error): one per non-blank line of a batch file."""
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, None, f"not UTF-8 text (byte {exc.start + 1})"
            continue
        if any(ord(c) < 32 and c != "\t" for c in text):
            yield number, None, "contains control characters (binary data?)"
        elif len(text) > MAX_QUESTION_CHARS:
            yield number, None, f"longer than {MAX_QUESTION_CHARS} characters"
        else:
            yield number, text.strip(), None


def _check_index(service) -> None:
    docs, _ = service.counts()
    if docs == 0:
        raise click.ClickException("the knowledge index is empty: run 'advisor ingest' first")


@main.command()
@click.pass_context
def chat(ctx: click.Context) -> None:
    """A terminal conversation with follow-up questions (Ctrl-D or 'exit' to leave)."""
    import uuid

    service = _service(ctx)
    _check_index(service)
    conversation = f"cli:{uuid.uuid4().hex[:12]}"
    click.secho("GenAI Strategy Advisor — ask about GenAI approaches or your AI policies.", bold=True)
    click.echo("Follow-up questions keep the conversation. Type 'exit' to leave.\n")
    while True:
        try:
            question = click.prompt("you", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo()
            return
        if question.strip().lower() in ("exit", "quit", ":q"):
            return
        if not question.strip():
            continue
        answer = _answer_or_fail(service, question, conversation=conversation, user="cli")
        click.echo()
        _print_answer(answer)
        click.echo()


# --- Slack ------------------------------------------------------------------------------


@main.command()
@click.option("--http", "mode", flag_value="http", help="HTTP mode on $PORT (Events API, signed requests).")
@click.option("--socket", "mode", flag_value="socket", help="Socket Mode (needs SLACK_APP_TOKEN).")
def serve(mode: str | None) -> None:
    """Run the Slack bot: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on $PORT."""
    from .core import AdvisorService
    from .llm.backends import BackendConfigError
    from .slack.server import SlackConfigError, check_settings, resolve_mode, serve as run_server

    settings = _settings()
    try:
        check_settings(settings, resolve_mode(settings, mode))
        service = AdvisorService(settings)
        service.check_backends()  # a bad ADVISOR_LLM* fails here, before Slack is contacted
        run_server(settings, mode, service=service)
    except (SlackConfigError, BackendConfigError) as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.pass_context
def start(ctx: click.Context) -> None:
    """Start the Slack bot if Slack tokens are configured, else the terminal chat (says which)."""
    settings = _settings()
    if settings.slack_configured:
        mode = "Socket Mode" if settings.secret("slack_app_token") else f"HTTP on port {settings.port}"
        click.echo(f"Slack tokens found (environment or .env): starting the Slack bot in {mode}.")
        ctx.invoke(serve)
    else:
        missing = [
            n
            for n, v in (
                ("SLACK_BOT_TOKEN", settings.secret("slack_bot_token")),
                (
                    "SLACK_APP_TOKEN or SLACK_SIGNING_SECRET",
                    settings.secret("slack_app_token") or settings.secret("slack_signing_secret"),
                ),
            )
            if not v
        ]
        click.echo(
            f"No Slack configuration ({', '.join(missing)} not set): opening the terminal chat. "
            "See README › Slack setup to run the bot in Slack."
        )
        ctx.invoke(chat)


@main.command("eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--split",
    type=click.Choice(["dev", "test", "all"]),
    default="dev",
    show_default=True,
    help="Choose settings on dev; report test.",
)
@click.option("--corpus", "corpora", multiple=True, help="Only this corpus of the set (repeatable).")
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(["hybrid", "dense", "keyword"]),
    help="Only this retrieval mode (repeatable; default: all three).",
)
@click.option("--json", "as_json", is_flag=True)
@click.option("--misses", is_flag=True, help="List the questions each mode got wrong.")
@click.option("--top-k", type=click.IntRange(1, 50), default=5)
@click.pass_context
def eval_(
    ctx: click.Context,
    questions: Path,
    split: str,
    corpora: tuple[str, ...],
    modes: tuple[str, ...],
    as_json: bool,
    misses: bool,
    top_k: int,
) -> None:
    """Answer quality on QUESTIONS.yaml, per corpus and retrieval mode (hybrid, dense, keyword).

    Each corpus of the set is indexed on its own under ADVISOR_HOME/eval/ (incrementally, so a
    second run is quick) and answered with the configured settings. Exits non-zero when hybrid
    results miss the floors in the file."""
    from .evaluation import MODES, EvalFileError, evaluate, format_table, load_eval_set

    try:
        eval_set = load_eval_set(questions)
    except EvalFileError as exc:
        raise click.ClickException(str(exc)) from None
    unknown = set(corpora) - set(eval_set.corpora)
    if unknown:
        raise click.BadParameter(
            f"{sorted(unknown)} not in the set ({', '.join(eval_set.corpora)})", param_hint="--corpus"
        )
    missing = [
        name for name, folder in eval_set.corpora.items() if not folder.is_dir() and (not corpora or name in corpora)
    ]
    if missing:
        raise click.ClickException(f"corpus folders not found: {', '.join(missing)}")
    service = _service(ctx)
    report = evaluate(service.corpus_service, eval_set, split=split, corpora=corpora, modes=modes or MODES, k=top_k)
    if as_json:
        _emit(report)
    else:
        click.echo(format_table(report))
        if misses:
            for corpus, rows in report["corpora"].items():
                for mode, row in rows.items():
                    for miss in row["misses"]:
                        click.echo(
                            f"{corpus} {mode} {miss['id']}: {miss['why']}"
                            + (f" (evidence at rank {miss['rank']})" if miss.get("rank") else "")
                        )
    if report["failed_floors"]:
        raise click.ClickException("below floors: " + "; ".join(report["failed_floors"]))


# --- assessment ---------------------------------------------------------------------------


def _parse_answers(pairs: tuple[str, ...], param_hint: str = "--answer") -> dict[str, str]:
    answers: dict[str, str] = {}
    for pair in pairs:
        qid, sep, value = pair.partition("=")
        if not sep or not qid.strip() or not value.strip():
            raise click.BadParameter(f"'{pair}' is not ID=VALUE", param_hint=param_hint)
        answers[qid.strip()] = value.strip()
    return answers


def _print_report(report: dict) -> None:
    click.secho(f"\nRecommendation: {report['title']} ({report['recommendation']})", bold=True)
    scores = ", ".join(f"{k} {v:g}" for k, v in report["scores"].items())
    click.echo(f"Confidence {report['confidence']:.0%} · scores: {scores}\n")
    click.secho("Why", bold=True)
    for line in report["rationale"]:
        click.echo(f"  - {line['question']} = {line['answer']}: {line['effect']}")
    for conflict in report["conflicts"]:
        click.echo(f"  ! {conflict}")
    for rule in report.get("rules") or []:
        click.echo(f"  ✖ {rule}")
    click.secho("\nWhat would change the answer", bold=True)
    for change in report.get("what_would_change") or []:
        click.echo(f"  - {change['text']}")
    if not report.get("what_would_change"):
        click.echo("  No single change of answer would change this recommendation.")
    for kind, label in (("pros", "Pros"), ("cons", "Cons"), ("when", "When to choose it")):
        part = report["guidance"].get(kind)
        if part:
            click.secho(f"\n{label}  [{part['document']} › {part['section']}]", bold=True)
            click.echo(part["text"])
    if report["policies"]:
        click.secho("\nPolicies that bear on your answers", bold=True)
        for p in report["policies"]:
            section = f" › {p['section']}" if p["section"] else ""
            click.echo(f"  - {p['title']}{section} ({p['source']}) — because {p['because']}")
    click.secho("\nNext steps", bold=True)
    for step in report["next_steps"]:
        click.echo(f"  - {step}")


@main.group(invoke_without_command=True)
@click.option(
    "--answer",
    "pairs",
    multiple=True,
    metavar="ID=VALUE",
    help="Answer a question non-interactively (repeatable); missing questions count as unsure.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def assess(ctx: click.Context, pairs: tuple[str, ...], as_json: bool) -> None:
    """Which approach fits: PaaS, self-hosted or hybrid (the guidance's decision framework)."""
    if ctx.invoked_subcommand is not None:
        return
    from .assessment import FrameworkError, InvalidAnswer

    service = _service(ctx)
    try:
        if pairs:
            report = service.assess(_parse_answers(pairs))
        else:
            report = _interactive_assessment(service)
            if report is None:
                return
    except InvalidAnswer as exc:
        raise click.ClickException(str(exc)) from None
    except FrameworkError as exc:
        raise click.ClickException(f"the assessment framework is invalid: {exc}") from None
    if as_json:
        _emit(report)
    else:
        _print_report(report)


def _cli_user() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _interactive_assessment(service) -> dict | None:
    """The terminal conversation: every typed line goes to the core's conversation, the same one
    Slack uses, and what it did is printed."""
    from .assessment import AssessmentError

    user = _cli_user()
    try:
        session = service.start_assessment(user)
    except AssessmentError as exc:
        if exc.code != "already_open":
            raise click.ClickException(exc.message) from None
        session = exc.session
        if click.confirm("You have an unfinished assessment. Resume it? (no = start over)", default=True):
            click.echo("Resuming where you left off.")
        else:
            session = service.restart_assessment(session.id, user)
    click.echo("Answer with the option number, its name, or your own words. Also: back, restart, cancel.\n")
    show_question = True
    while session.status == "open":
        question = service.assessment_question(session)
        if question is None:
            raise click.ClickException(
                "the assessment questions changed since you started; run 'advisor assess' and choose to start over"
            )
        if show_question:
            click.secho(f"{question.prompt}", bold=True)
            click.echo(f"  {question.help}")
            for n, option in enumerate(question.options, 1):
                click.echo(f"  {n}. {option.label}")
        try:
            reply = click.prompt("answer", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo("\nSaved: run 'advisor assess' again to resume.")
            return None
        turn = service.assessment_reply(session.id, user, reply, how="cli")
        session = turn.session or service.assessment(session.id)
        show_question = turn.kind not in ("confirm", "no_match", "invalid", "refused", "not_for_us")
        if turn.kind == "confirm":
            click.secho(f"{turn.message} (yes / no, or another answer)", fg="cyan")
        elif turn.kind == "cancel":
            click.echo("Assessment cancelled.")
            return None
        elif turn.kind == "not_for_us":
            _answer_in_passing(service, reply)
        elif turn.message:
            click.secho(turn.message, fg="yellow")
        if show_question:
            click.echo()
    return service.assessment_report(session.answers)


def _answer_in_passing(service, question: str) -> None:
    """A question typed mid-assessment ("what is MLOps?") is answered; the assessment waits."""
    if not question.strip():
        return
    answer = service.ask(question)
    click.echo(answer.text)
    click.secho("(Your assessment is where it was: answer the question above.)", fg="cyan")


@assess.command("interpret")
@click.argument("question_id")
@click.argument("reply")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def assess_interpret(ctx: click.Context, question_id: str, reply: str, as_json: bool) -> None:
    """What a typed REPLY means for QUESTION_ID: the option, how sure, and why."""
    from .assessment import FrameworkError, InvalidAnswer, ReplyError

    service = _service(ctx.find_root())
    try:
        found = service.interpret_reply(question_id, reply)
    except InvalidAnswer as exc:
        raise click.ClickException(str(exc)) from None
    except ReplyError as exc:
        raise click.ClickException(exc.message) from None
    except FrameworkError as exc:
        raise click.ClickException(f"the assessment framework is invalid: {exc}") from None
    if as_json:
        _emit(found.to_dict())
        return
    shown = found.value if found.value is not None else "(no match)"
    click.echo(f"{shown}  confidence {found.confidence:.0%}{'  (would ask to confirm)' if found.confirm else ''}")
    click.echo(f"  {found.why}")


@assess.command("what-if")
@click.argument("change", metavar="QUESTION=VALUE")
@click.option(
    "--session", "session_id", default=None, help="The finished assessment to start from (default: your latest)."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def assess_what_if(ctx: click.Context, change: str, session_id: str | None, as_json: bool) -> None:
    """Re-run a finished assessment with one answer changed (as "What would change the answer"
    suggests); the result is stored as a copy and the original is kept."""
    from .assessment import AssessmentError

    (question_id, value), *_ = _parse_answers((change,), param_hint="QUESTION=VALUE").items()
    service = _service(ctx.find_root())
    user = _cli_user()
    if session_id is None:
        finished = service.assessment_history(user, limit=1)
        if not finished:
            raise click.ClickException("No finished assessment to re-run: run 'advisor assess' first.")
        session_id = finished[0].id
    try:
        copy = service.assessment_what_if(session_id, user, question_id, value, how="cli")
    except AssessmentError as exc:
        raise click.ClickException(exc.message) from None
    report = service.assessment_report(copy.answers)
    if as_json:
        _emit({"session": copy.id, "from_session": session_id, **report})
        return
    click.echo(f"Re-run of {session_id[:8]} with {question_id} = {value} (the original is kept).")
    _print_report(report)


@assess.command("history")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def assess_history(ctx: click.Context, as_json: bool) -> None:
    """Your past assessment results."""
    sessions = _service(ctx.find_root()).assessment_history(_cli_user())
    if as_json:
        _emit([s.to_dict() for s in sessions])
        return
    if not sessions:
        click.echo("No finished assessments yet: run 'advisor assess'.")
    for s in sessions:
        click.echo(f"{s.updated_at[:16]}  {s.result['recommendation']:<12} confidence {s.result['confidence']:.0%}")


@main.group()
def assessments() -> None:
    """Administration of stored assessments."""


@assessments.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.pass_context
def assessments_export(ctx: click.Context, fmt: str) -> None:
    """All assessments (every user) as JSON or CSV, for admins."""
    rows = _service(ctx.find_root()).assessment_export()
    if fmt == "json":
        _emit(rows)
        return
    import csv

    writer = csv.writer(sys.stdout)
    writer.writerow(
        ["id", "user", "channel", "status", "created_at", "updated_at", "recommendation", "confidence", "answers"]
    )
    for r in rows:
        result = r.get("result") or {}
        writer.writerow(
            [
                r["id"],
                r["user"],
                r.get("channel") or "",
                r["status"],
                r["created_at"],
                r["updated_at"],
                result.get("recommendation", ""),
                result.get("confidence", ""),
                json.dumps(r.get("answers") or {}),
            ]
        )
