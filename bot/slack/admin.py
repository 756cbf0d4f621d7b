"""Knowledge administration from Slack: ``/advisor ingest`` (background re-sync with a progress
message), ``/advisor ingest remove <document>``, the App Home "Re-ingest knowledge" button and
policy files shared with the bot in a DM.

Everything is decided by the core's ``service.admin`` (KnowledgeAdmin): who is an admin
(``authorize`` also writes the audit row for every action and every refused attempt), whether an
ingest may start, and whether an upload is acceptable (name, size, type, parse) before the
knowledge folder is touched. This module only talks to Slack: users.info for the optional
workspace-admin rule, files.info and the download with the bot token, and the messages.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ingest import IngestBusy

from ..admin import AdminError, sanitize_filename
from . import blocks
from .reply import LiveMessage

log = logging.getLogger(__name__)

REFUSAL = (
    "Only the advisor's admins can re-ingest the knowledge or change its documents, so nothing was "
    "done. If a policy document needs updating, please ask one of them."
)
UPLOAD_REFUSAL = (
    "Thanks, but only the advisor's admins can add documents to my knowledge, so I have not "
    "stored {names}. To ask about a policy, just send me your question."
)
BUSY = "An ingest is already running, so I didn't start another; try again when it has finished."
USAGE = (
    "*Knowledge administration* (admins)\n"
    "• `/advisor ingest`: re-sync the knowledge folder into the index (progress in our DM)\n"
    "• `/advisor ingest remove &lt;document&gt;`: remove a document (it is archived first)\n"
    "• `/advisor ingest runs`: the last ingest runs\n"
    "• Add or replace a policy: share the file (PDF, DOCX, Markdown, text, HTML) with me in a DM, "
    "optionally with the text `replace &lt;document&gt;`."
)


def new_error_id() -> str:
    return uuid.uuid4().hex[:8]


# --- who is an admin ------------------------------------------------------------------------------


def workspace_admin_lookup(client: WebClient) -> Callable[[str], bool]:
    """users.info (scope users:read): workspace admins and owners, for
    ADVISOR_ADMINS_INCLUDE_WORKSPACE_ADMINS. A failed lookup raises, and the core never grants
    rights on a failure."""

    def lookup(user_id: str) -> bool:
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            log.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
            raise
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))

    return lookup


def is_admin(service, client: WebClient, user_id: str | None) -> bool:
    """For rendering only (the Home tab): not audited."""
    return bool(user_id) and service.admin.is_admin(user_id, workspace_admin_lookup(client))


def authorize(service, client: WebClient, user_id: str | None, action: str, detail: str = "") -> bool:
    """Check and audit (the core writes one row, allowed or not)."""
    return service.admin.authorize(user_id or "", action, workspace_admin=workspace_admin_lookup(client), detail=detail)


# --- re-ingest with a progress message --------------------------------------------------------------


class IngestRun:
    """One background re-ingest requested by an admin: a progress message in the admin's DM,
    updated in place (chat.update) at most once per ``interval`` seconds, then the summary as a
    new message (so it notifies). ``on_finish`` runs afterwards (the Home tab refresh)."""

    def __init__(
        self,
        service,
        client: WebClient,
        user: str,
        *,
        interval: float = 1.0,
        on_finish: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.service = service
        self.client = client
        self.user = user
        self.interval = interval
        self.on_finish = on_finish
        self.message = LiveMessage(client, user, interval=interval, clock=clock)  # in the admin's DM
        self.done = 0
        self.total = 0

    def start(self) -> threading.Thread:
        """Raises IngestBusy, before anything is posted, when an ingest is running."""
        if self.service.ingest_running():
            raise IngestBusy(BUSY)
        self.message.show(":hourglass_flowing_sand: Ingesting… (scanning the knowledge folder)")
        try:
            return self.service.admin.ingest_in_background(
                on_progress=self.progress, on_done=self.finished, on_error=self.failed
            )
        except IngestBusy:
            self._update(BUSY)
            raise

    def progress(self, done: int, total: int, source: str = "") -> None:
        self.done, self.total = done, total
        self.message.tick(blocks.ingest_progress_text(done, total))  # best effort: the ingest goes on

    def finished(self, report) -> None:
        try:
            files = f" ({self.done}/{self.total} files)" if self.total else ""
            self._update(f":white_check_mark: Ingest finished{files}; the summary is below.")
            self.message.post(blocks.ingest_report_text(report.to_dict()), blocks.ingest_summary_blocks(report))
        except Exception:
            log.exception("reporting the ingest to %s failed", self.user)
        finally:
            self._after()

    def failed(self, exc: BaseException) -> None:
        try:
            if isinstance(exc, IngestBusy):
                self._update(BUSY)
            else:
                error_id = new_error_id()
                log.error("re-ingest requested by %s failed (error id %s)", self.user, error_id, exc_info=exc)
                self._update(blocks.error_text(error_id, "re-ingesting the knowledge"))
        except Exception:
            log.exception("reporting the failed ingest to %s failed", self.user)
        finally:
            self._after()

    def _update(self, text: str) -> None:
        self.message.show(text)

    def _after(self) -> None:
        if self.on_finish is not None:
            try:
                self.on_finish()
            except Exception:
                log.exception("refreshing after the re-ingest failed")


# --- /advisor ingest ----------------------------------------------------------------------------------


def cmd_ingest(ctx) -> None:
    args = ctx.args.strip()
    verb, _, rest = args.partition(" ")
    verb, rest = verb.lower(), rest.strip()
    actions = {
        "": "reingest",
        "run": "reingest",
        "sync": "reingest",
        "start": "reingest",
        "remove": "remove",
        "delete": "remove",
        "rm": "remove",
        "runs": "runs",
        "status": "runs",
    }
    action = actions.get(verb)
    detail = f"/advisor ingest {args}".strip()
    # Who may do it is checked first: a non-admin learns nothing from the admin help.
    if not authorize(ctx.service, ctx.client, ctx.user_id, action or "usage", detail):
        ctx.reply(REFUSAL, None)
        return
    if action is None or (action == "remove" and not rest):
        ctx.reply(USAGE, [blocks.section(USAGE)])
        return
    if action == "runs":
        runs = ctx.service.ingest_runs(5)
        text = "*Last ingest runs*\n" + ("\n".join(blocks.run_line(r) for r in runs) or "_none yet_")
        ctx.reply(text, [blocks.section(text)])
    elif action == "remove":
        ctx.reply(remove_document(ctx.service, rest), None)
    else:
        listeners = ctx.listeners
        try:
            if listeners is not None:
                listeners.start_reingest(ctx.client, ctx.user_id)
            else:
                IngestRun(ctx.service, ctx.client, ctx.user_id).start()
        except IngestBusy:
            ctx.reply(BUSY, None)
            return
        ctx.reply("Re-ingest started: I'm posting its progress and the summary in our direct messages.", None)


def remove_document(service, name: str) -> str:
    try:
        rel, archived = service.admin.remove_document(name)
    except AdminError as exc:
        return f"Nothing was removed: {exc}."
    except IngestBusy:
        return f"An ingest is running right now, so `{blocks.escape(name)}` was not removed; try again when it has finished."
    return (
        f"Removed `{blocks.escape(rel)}` from the knowledge and the index. It is archived as "
        f"`{blocks.escape(archive_name(service, archived))}`."
    )


def archive_name(service, archived: str | None) -> str | None:
    if not archived:
        return None
    try:
        return Path(archived).relative_to(Path(service.settings.home)).as_posix()
    except ValueError:
        return Path(archived).name


# --- uploads: a policy file shared with the bot in a DM ------------------------------------------------


class DownloadError(Exception):
    """The file could not be fetched from Slack; the message says why."""


def download(url: str, token: str, limit: int, timeout: float = 60) -> tuple[bytes, str]:
    """GET a Slack file with the bot token, reading at most ``limit`` bytes (+1 to notice more)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            kind = response.headers.get_content_type()
            data = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"Slack answered HTTP {exc.code} ({exc.reason}) to the download") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"the download failed: {reason}") from None
    return data, kind


def parse_upload_text(text: str) -> str | None:
    """``replace <document>`` → the document to replace; anything else ("ingest", "") → None."""
    words = text.strip().split(None, 1)
    if len(words) == 2 and words[0].lower() in ("replace", "replaces", "update"):
        return words[1].strip().strip("`'\"") or None
    return None


def handle_upload(service, client: WebClient, event: dict, text: str) -> None:
    """A message with files in the bot's DM: admins' files are added (or replace a document);
    anyone else's are ignored with a notice (the refused attempt is audited, nothing else)."""
    user = event.get("user") or event.get("bot_id") or ""
    channel = event["channel"]
    root = event.get("thread_ts") or event["ts"]
    files = [f for f in event.get("files") or [] if isinstance(f, dict) and f.get("id")]
    if not files:
        return
    names = ", ".join(f"`{blocks.escape(str(f.get('name') or f['id']))}`" for f in files)
    detail = "upload " + ", ".join(str(f.get("name") or f["id"]) for f in files) + (f" ({text})" if text else "")
    if not authorize(service, client, user, "upload", detail):
        client.chat_postMessage(channel=channel, thread_ts=root, text=UPLOAD_REFUSAL.format(names=names))
        return
    replace = parse_upload_text(text)
    if replace and len(files) > 1:
        client.chat_postMessage(
            channel=channel,
            thread_ts=root,
            text="To replace a document, send one file with `replace &lt;document&gt;`; nothing was changed.",
        )
        return
    for stub in files:
        label = blocks.escape(str(stub.get("name") or stub["id"]))
        placeholder = client.chat_postMessage(
            channel=channel, thread_ts=root, text=f":inbox_tray: Adding `{label}` to the knowledge…"
        )
        try:
            result_text = add_file(service, client, stub, replace)
        except Exception:  # the admin sees an id, the log has the details
            error_id = new_error_id()
            log.exception("upload of %s by %s failed (error id %s)", label, user, error_id)
            result_text = blocks.error_text(error_id, f"adding `{label}`")
        client.chat_update(
            channel=placeholder.get("channel") or channel, ts=placeholder["ts"], text=result_text, blocks=[]
        )


def add_file(service, client: WebClient, stub: dict, replace: str | None) -> str:
    """files.info, the size check, the download, then the core's add_document. Returns what to
    tell the admin; on any refusal the knowledge folder and the index are unchanged."""
    limit_mb = service.settings.max_upload_mb
    limit = int(limit_mb * 1_048_576)
    try:
        info = client.files_info(file=stub["id"]).get("file") or {}
    except SlackApiError as exc:
        return f":x: I couldn't read the file's details from Slack ({exc.response.get('error')}); nothing was changed."
    name = str(info.get("name") or stub.get("name") or stub["id"])
    label = blocks.escape(name)
    try:
        sanitize_filename(name)  # an unusable name or type is refused before downloading anything
    except AdminError as exc:
        return f":x: {blocks.escape(str(exc))}. Nothing was changed."
    size = info.get("size")
    if isinstance(size, (int, float)) and size > limit:
        return (
            f":x: `{label}` is {size / 1_048_576:.1f} MB; the upload limit is {limit_mb:g} MB "
            "(ADVISOR_MAX_UPLOAD_MB). Nothing was changed."
        )
    if info.get("is_external"):
        return f":x: `{label}` is a link to an external file; upload the file itself. Nothing was changed."
    url = info.get("url_private_download") or info.get("url_private")
    if not url:
        return f":x: Slack gave me no download link for `{label}`; nothing was changed."
    try:
        data, kind = download(url, client.token or service.settings.secret("slack_bot_token"), limit)
    except DownloadError as exc:
        return f":x: I couldn't download `{label}`: {exc}. Nothing was changed; please send it again."
    if len(data) > limit:
        return (
            f":x: `{label}` is larger than the upload limit of {limit_mb:g} MB (ADVISOR_MAX_UPLOAD_MB). "
            "Nothing was changed."
        )
    if kind == "text/html" and Path(name).suffix.lower() not in (".html", ".htm"):
        return (
            f":x: Slack sent a web page instead of `{label}` (is the app's files:read scope granted?). "
            "Nothing was changed."
        )
    try:
        result = service.admin.add_document(name, data, replace=replace)
    except AdminError as exc:
        return f":x: {blocks.escape(str(exc))}. Nothing was changed."
    except IngestBusy:
        return f":x: An ingest is running right now, so `{label}` was not added; send it again when it has finished."
    return blocks.upload_result_text(result, archive_name(service, result.archived))
