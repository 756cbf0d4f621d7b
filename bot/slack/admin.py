"""Admin checks and the background re-ingest started from the App Home button.

Kept small on purpose: the admin feature set (uploads, removals, audit views) is a separate
issue; this module is where it plugs in.
"""
from __future__ import annotations

import logging
import threading
import uuid
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from . import blocks

log = logging.getLogger(__name__)


def is_admin(settings, user_id: str | None, client: WebClient | None = None) -> bool:
    """ADVISOR_ADMINS lists Slack user ids; with ADVISOR_ADMINS_INCLUDE_WORKSPACE_ADMINS the
    workspace's admins and owners count too (users.info, scope users:read)."""
    if not user_id:
        return False
    if user_id in settings.admin_ids:
        return True
    if settings.admins_include_workspace_admins and client is not None:
        try:
            user = client.users_info(user=user_id).get("user") or {}
            return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        except SlackApiError as exc:
            log.warning("users.info for %s failed: %s", user_id, exc)
    return False


def reingest_in_background(service, client: WebClient, user_id: str, *,
                           on_done: Callable[[], None] | None = None) -> threading.Thread | None:
    """Run ``service.ingest()`` on a thread and DM the requesting admin the report.

    The caller has already checked the user is an admin. Returns the thread, or None when an
    ingest is already running (the user is told so)."""
    if service.ingest_running():
        _dm(client, user_id, "An ingest is already running; try again when it has finished.")
        return None

    def run() -> None:
        try:
            report = service.ingest()
            _dm(client, user_id, blocks.ingest_report_text(report.to_dict()))
        except Exception:  # noqa: BLE001 — reported to the admin with an id, logged in full
            error_id = uuid.uuid4().hex[:8]
            log.exception("re-ingest requested by %s failed (error id %s)", user_id, error_id)
            _dm(client, user_id, blocks.error_text(error_id, "re-ingesting the knowledge"))
        finally:
            if on_done is not None:
                try:
                    on_done()
                except Exception:  # noqa: BLE001
                    log.exception("refreshing after the re-ingest failed")

    thread = threading.Thread(target=run, name="advisor-reingest", daemon=True)
    thread.start()
    return thread


def _dm(client: WebClient, user_id: str, text: str) -> None:
    try:
        client.chat_postMessage(channel=user_id, text=text)
    except SlackApiError as exc:
        log.warning("could not message %s: %s", user_id, exc)
