"""Knowledge administration: who is an admin, background re-ingest, adding, replacing and
removing policy documents. Slack and the CLI call these; nothing here knows about Slack.

Uploads are checked completely (size, type by content, a parse of the document) before the
knowledge folder is touched, and a replaced or removed file is archived first, so a bad
upload or a failed step never loses the previous version.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import threading
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ingest import IngestBusy, IngestReport
from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, load_bytes

UPLOAD_FOLDER = "policies"

log = logging.getLogger(__name__)


class AdminError(Exception):
    """A request an admin made that cannot be carried out; the message says why."""


@dataclass
class UploadResult:
    source: str
    replaced: bool
    archived: str | None
    report: IngestReport


def sanitize_filename(name: str) -> str:
    """A plain file name: no folders, no hidden files, no odd characters, a known type."""
    base = Path(name.replace("\\", "/")).name.strip()
    base = re.sub(r"[^A-Za-z0-9._ -]", "", base).strip().replace(" ", "-")
    base = base.lstrip(".-")
    if not base or base in (".", ".."):
        raise AdminError(f"'{name}' is not a usable file name")
    suffix = Path(base).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise AdminError(
            f"'{name}': file type '{suffix or '(none)'}' is not accepted; send " + ", ".join(sorted(SUPPORTED_SUFFIXES))
        )
    return base[:120]


def sniff_type(name: str, data: bytes) -> None:
    """Reject a file whose content does not match its extension (a renamed binary, say)."""
    suffix = Path(name).suffix.lower()
    if suffix == ".pdf" and not data.lstrip()[:5].startswith(b"%PDF"):
        raise AdminError(f"{name}: the content is not a PDF")
    office = {
        ".docx": ("word/document.xml", "a Word document", "DOCX"),
        ".pptx": ("ppt/presentation.xml", "a PowerPoint presentation", "PPTX"),
        ".xlsx": ("xl/workbook.xml", "an Excel workbook", "XLSX"),
    }
    if suffix in office:
        part, what, kind = office[suffix]
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if part not in z.namelist():
                    raise AdminError(f"{name}: the content is not {what}")
        except zipfile.BadZipFile:
            raise AdminError(f"{name}: the content is not {what} (not a valid {kind} archive)") from None
    if suffix in (".md", ".markdown", ".txt", ".html", ".htm"):
        if b"\x00" in data[:8192] or data[:4] in (b"%PDF", b"PK\x03\x04"):
            raise AdminError(f"{name}: the content is binary, not text")
        if suffix in (".html", ".htm") and not re.search(rb"<\s*(html|body|p|h[1-6]|div)\b", data[:65536], re.I):
            raise AdminError(f"{name}: the content is not HTML")


class KnowledgeAdmin:
    def __init__(self, service):
        self.service = service
        self._background: threading.Thread | None = None

    @property
    def settings(self):
        return self.service.settings

    # --- who may ---------------------------------------------------------------------------

    def is_admin(self, user: str, workspace_admin: Callable[[str], bool] | None = None) -> bool:
        if user in self.settings.admin_ids:
            return True
        if self.settings.admins_include_workspace_admins and workspace_admin is not None:
            try:
                return bool(workspace_admin(user))
            except Exception:  # a lookup that fails never grants rights
                log.warning("the workspace-admin lookup for %s failed; treating them as no admin", user, exc_info=True)
                return False
        return False

    def authorize(self, user: str, action: str, workspace_admin=None, detail: str = "") -> bool:
        """Check and audit: every admin action and every refused attempt is logged."""
        allowed = self.is_admin(user, workspace_admin)
        self.service.store.log_admin(user, action, allowed, detail)
        return allowed

    # --- re-ingest ---------------------------------------------------------------------------

    def ingest_in_background(self, on_progress=None, on_done=None, on_error=None) -> threading.Thread:
        """Start a re-sync; raises IngestBusy (before starting) when one is running."""
        if self.service.ingest_running():
            raise IngestBusy("an ingest is already running; try again when it has finished")

        def run() -> None:
            try:
                report = self.service.ingest(progress=on_progress)
            except Exception as exc:  # logged with an id, and reported to the admin
                error_id = uuid.uuid4().hex[:8]
                log.exception("the background re-ingest failed (error id %s)", error_id)
                if on_error:
                    on_error(exc)
                return
            if on_done:
                on_done(report)

        thread = threading.Thread(target=run, name="admin-ingest", daemon=True)
        thread.start()
        self._background = thread
        return thread

    # --- documents -------------------------------------------------------------------------

    @property
    def knowledge_dir(self) -> Path:
        return Path(self.settings.knowledge_dir).resolve()

    @property
    def archive_dir(self) -> Path:
        return Path(self.settings.home) / "archive"

    def _target(self, filename: str, replace: str | None) -> Path:
        if replace:
            existing = self.find_document(replace)
            if existing is None:
                raise AdminError(f"there is no document '{replace}' to replace")
            return existing
        found = self.find_document(filename)
        return found if found is not None else self.knowledge_dir / UPLOAD_FOLDER / filename

    def find_document(self, name: str) -> Path | None:
        """A knowledge file by relative path or by unique file name."""
        name = name.strip().strip("`'\"")
        if not name:
            return None
        direct = (self.knowledge_dir / name).resolve()
        if self._inside(direct) and direct.is_file() and self._is_document(direct):
            return direct
        # Literal names only: "*" or "…t?t" must not match as patterns.
        wanted = Path(name).name
        matches = [
            p
            for p in self.knowledge_dir.rglob("*")
            if p.name == wanted and p.is_file() and self._inside(p) and self._is_document(p)
        ]
        if len(matches) > 1:
            raise AdminError(
                f"'{name}' matches several documents: "
                + ", ".join(str(p.relative_to(self.knowledge_dir)) for p in matches)
            )
        return matches[0] if matches else None

    def _is_document(self, path: Path) -> bool:
        """Configuration in the knowledge folder (the assessment framework) is not a document."""
        from .core import NON_DOCUMENTS

        rel = path.resolve().relative_to(self.knowledge_dir)
        return path.name not in NON_DOCUMENTS and not any(part.startswith(".") for part in rel.parts)

    def _inside(self, path: Path) -> bool:
        root = self.knowledge_dir
        return path == root or root in path.resolve().parents

    def _archive(self, path: Path) -> str:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        rel = path.relative_to(self.knowledge_dir)
        dest = self.archive_dir / stamp / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
        return str(dest)

    def add_document(self, filename: str, data: bytes, replace: str | None = None) -> UploadResult:
        """Validate, store (archiving any previous version) and ingest one document."""
        name = sanitize_filename(filename)
        limit = int(self.settings.max_upload_mb * 1_048_576)
        if len(data) > limit:
            raise AdminError(
                f"{name} is {len(data) / 1_048_576:.1f} MB; the upload limit is "
                f"{self.settings.max_upload_mb:g} MB (ADVISOR_MAX_UPLOAD_MB)"
            )
        sniff_type(name, data)
        try:
            load_bytes(name, data)
        except LoadError as exc:
            raise AdminError(f"{name} was not added: {exc}") from None
        target = self._target(name, replace)
        if target.suffix.lower() != Path(name).suffix.lower():
            raise AdminError(f"{name} cannot replace {target.name}: the file types differ")
        if self.service.ingest_running():
            raise IngestBusy("an ingest is already running; send the file again when it has finished")
        target = target.resolve()
        if not self._inside(target):
            raise AdminError(f"'{filename}' would be stored outside the knowledge folder")
        replaced = target.exists()
        archived = self._archive(target) if replaced else None
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.upload")
        tmp.write_bytes(data)
        tmp.replace(target)  # atomic: the folder never holds half a file
        try:
            report = self.service.ingest([target])
        except IngestBusy:
            self._restore(target, archived)
            raise
        return UploadResult(target.relative_to(self.knowledge_dir).as_posix(), replaced, archived, report)

    def _restore(self, target: Path, archived: str | None) -> None:
        if archived:
            shutil.copy2(archived, target)
        else:
            target.unlink(missing_ok=True)

    def remove_document(self, name: str) -> tuple[str, str]:
        """Archive a document, delete it from the folder and the index."""
        path = self.find_document(name)
        if path is None:
            raise AdminError(f"there is no document '{name}' in the knowledge folder")
        if self.service.ingest_running():
            raise IngestBusy("an ingest is already running; try again when it has finished")
        archived = self._archive(path)
        rel = path.relative_to(self.knowledge_dir).as_posix()
        path.unlink()
        self.service.ingest([path.parent])
        return rel, archived
