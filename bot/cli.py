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
    except Exception as exc:  # pydantic's message names the variable
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
        return
    from rich.console import Console
    from rich.table import Table

    data = report.to_dict()
    table = Table(title="Ingest summary")
    for col in ("added", "updated", "unchanged", "removed", "failed", "chunks", "seconds"):
        table.add_column(col, justify="right")
    table.add_row(*(str(len(data[c]) if c == "failed" else data[c]) for c in
                    ("added", "updated", "unchanged", "removed", "failed", "chunks", "seconds")))
    console = Console()
    console.print(table)
    for failure in report.failed:
        console.print(f"[red]failed[/red] {failure['path']}: {failure['error']}", highlight=False)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Documents, chunks, last run, embedding model and store location."""
    info = _service(ctx).status()
    if as_json:
        _emit(info)
        return
    for key, value in info.items():
        if key == "last_run" and value:
            value = (f"{value['finished_at'] or value['started_at']} ({value['status']}): "
                     f"+{value['added']} ~{value['updated']} ={value['unchanged']} "
                     f"-{value['removed']} failed {value['failed']}")
        click.echo(f"{key.replace('_', ' ')}: {value if value not in (None, '') else '-'}")
