"""Turn files of the supported formats into Markdown-like text plus metadata.

Every loader produces Markdown headings (``#``...) so one heading-aware chunker serves all
formats. Anything that cannot be read honestly raises :class:`LoadError` with a reason a
person can act on; nothing is guessed.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".pdf", ".docx", ".pptx", ".xlsx", ".html", ".htm"}
CLASSIFICATIONS = ("public", "internal", "confidential")
DEFAULT_CLASSIFICATION = "internal"


class LoadError(Exception):
    """A document could not be loaded; the message is shown to the user as the reason."""


@dataclass
class LoadedDocument:
    title: str
    text: str
    metadata: dict = field(default_factory=dict)

    @property
    def classification(self) -> str:
        return self.metadata.get("classification", DEFAULT_CLASSIFICATION)


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load_bytes(name: str, data: bytes) -> LoadedDocument:
    """Load a document from its bytes; ``name`` supplies the extension and fallback title."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(
            f"unsupported file type '{suffix or '(none)'}'; supported: " + ", ".join(sorted(SUPPORTED_SUFFIXES))
        )
    if not data.strip():
        raise LoadError("empty document")
    loader = {
        ".md": _load_markdown,
        ".markdown": _load_markdown,
        ".txt": _load_text,
        ".pdf": _load_pdf,
        ".docx": _load_docx,
        ".pptx": _load_pptx,
        ".xlsx": _load_xlsx,
        ".html": _load_html,
        ".htm": _load_html,
    }[suffix]
    doc = loader(data, Path(name).stem)
    if not doc.text.strip():
        raise LoadError("document has no extractable text")
    return doc


def load_path(path: Path, max_bytes: int | None = None) -> LoadedDocument:
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise LoadError(
                f"file is {size / 1_048_576:.1f} MB, over the {max_bytes / 1_048_576:g} MB limit (ADVISOR_MAX_FILE_MB)"
            )
        data = path.read_bytes()
    except PermissionError:
        raise LoadError("file is not readable (permission denied)") from None
    except OSError as exc:
        raise LoadError(f"file could not be read: {exc.strerror or exc}") from None
    return load_bytes(path.name, data)


# --- text formats -------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise LoadError("looks like a binary file, not text (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 text (invalid byte at offset {exc.start}); save the file as UTF-8") from None


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_LIQUID_BLOCK = re.compile(r"\{%-?\s*(raw|comment)\s*-?%\}.*?\{%-?\s*end\1\s*-?%\}", re.S)
_LIQUID_TAG = re.compile(r"\{%.*?%\}", re.S)
_LIQUID_OUTPUT = re.compile(r"\{\{.*?\}\}", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.M)


def clean_markdown(text: str) -> str:
    """Strip template tags and link targets, keeping the words a reader sees."""
    text = _HTML_COMMENT.sub("", text)
    text = _LIQUID_BLOCK.sub("", text)
    # Links first: their targets often hold Liquid tags such as {% page "..." %}.
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _REF_LINK.sub(lambda m: m.group(1), text)
    text = _LIQUID_TAG.sub("", text)
    text = _LIQUID_OUTPUT.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _front_matter(text: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise LoadError(f"malformed front matter{where}: {problem}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise LoadError("malformed front matter: expected 'key: value' pairs")
    return meta, text[match.end() :]


def _normalise_metadata(meta: dict) -> dict:
    out: dict = {}
    for key in ("title", "owner", "version", "effective"):
        value = meta.get(key)
        if value is not None and not isinstance(value, (dict, list)):
            out[key] = str(value).strip()
    url = meta.get("url")
    if url is not None:
        if not (isinstance(url, str) and re.match(r"https?://\S+$", url.strip())):
            raise LoadError("front matter url must be an http(s) address")
        out["url"] = url.strip()
    classification = meta.get("classification")
    if classification is not None:
        value = str(classification).strip().lower()
        if value not in CLASSIFICATIONS:
            raise LoadError(
                f"front matter classification '{classification}' is not one of " + " | ".join(CLASSIFICATIONS)
            )
        out["classification"] = value
    if "audience" in meta:
        out["audience"] = _audience(meta["audience"])
    return out


def _audience(value) -> str:
    """Front matter ``audience`` as stored with each chunk: "everyone", "members" or a JSON
    object of user groups (S…) and channels (C…/G…)."""
    if isinstance(value, str) and value.strip().lower() in ("everyone", "members"):
        return value.strip().lower()
    if isinstance(value, dict) and set(value) <= {"groups", "channels"} and value:
        out = {}
        for key, prefix in (("groups", ("S",)), ("channels", ("C", "G"))):
            items = value.get(key) or []
            if isinstance(items, str):
                items = [items]
            if not isinstance(items, list) or not all(isinstance(i, str) and i.startswith(prefix) for i in items):
                raise LoadError(
                    f"front matter audience {key} must be a list of Slack ids starting with {' or '.join(prefix)}"
                )
            if items:
                out[key] = sorted(items)
        if out:
            return json.dumps(out, sort_keys=True)
    raise LoadError("front matter audience must be everyone, members, or groups: [S…] / channels: [C…]")


def _load_markdown(data: bytes, stem: str) -> LoadedDocument:
    raw = _decode(data)
    meta, body = _front_matter(raw)
    metadata = _normalise_metadata(meta)
    body = clean_markdown(body)
    title = metadata.get("title")
    if not title:
        h1 = _H1.search(body)
        title = h1.group(1).strip() if h1 else _title_from_stem(stem)
    metadata["title"] = title
    redirect = meta.get("redirect_to")
    if not body and isinstance(redirect, str) and redirect.strip():
        # A moved page still answers "where is X?"; keep it findable by its title.
        body = f"{title} has moved to {redirect.strip()}"
        metadata["redirect_to"] = redirect.strip()
    return LoadedDocument(title=title, text=body, metadata=metadata)


def _load_text(data: bytes, stem: str) -> LoadedDocument:
    text = _decode(data).replace("\r\n", "\n").strip()
    title, markdown = text_headings(text)
    title = title or _title_from_stem(stem)
    return LoadedDocument(title=title, text=markdown, metadata={"title": title})


_TITLE_LIKE = re.compile(r"^(?![-*+•]\s)[^\s].{0,70}(?<![.,;:!?])$")


def _title_like(line: str) -> bool:
    return bool(_TITLE_LIKE.match(line)) and len(line.split()) <= 9 and not line.startswith(("|", "#"))


def text_headings(text: str) -> tuple[str | None, str]:
    """Plain text with its title-like lines (short, no final punctuation, followed by body
    text) made into Markdown headings, so a ``.txt`` policy gets sections and citations like
    its Markdown twin. The first such line is the title. A heading that directly follows
    another, or whose words recur as a heading (``Pros``, ``Cons``), sits one level below the
    last unique one. Returns (title or None, Markdown)."""
    lines = text.split("\n")
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    following = {a: b for a, b in zip(nonblank, nonblank[1:])}

    def is_body(i: int | None) -> bool:
        return i is not None and not _title_like(lines[i].strip())

    candidates = set()
    for i in nonblank:
        if _title_like(lines[i].strip()):
            nxt = following.get(i)
            if is_body(nxt) or (nxt is not None and _title_like(lines[nxt].strip()) and is_body(following.get(nxt))):
                candidates.add(i)
    if len(candidates) < 2:
        return None, text
    counts: dict[str, int] = {}
    for i in candidates:
        key = lines[i].strip().lower()
        counts[key] = counts.get(key, 0) + 1
    title = None
    out: list[str] = []
    previous_heading = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if i not in candidates:
            out.append(line)
            if stripped:
                previous_heading = False
            continue
        if title is None and i == nonblank[0]:
            title = stripped
            previous_heading = False
            continue
        nested = previous_heading or counts[stripped.lower()] > 1
        # Blank lines around headings: the chunker splits paragraphs at blank lines.
        out.extend(["", ("### " if nested else "## ") + stripped, ""])
        previous_heading = True
    body = "\n".join(out)
    blank = sum(1 for ln in lines if not ln.strip())
    if blank * 10 < len(lines):  # unwrapped text: one paragraph per line
        body = re.sub(r"(?<=[^\n])\n(?=[^\n#])", "\n\n", body)
    return title, body.strip()


def _title_from_stem(stem: str) -> str:
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else "Untitled"


# --- binary formats -----------------------------------------------------------------------


def _load_pdf(data: bytes, stem: str) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.lstrip().startswith(b"%PDF"):
        raise LoadError("not a PDF file (missing %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("PDF is encrypted; upload an unencrypted copy")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"corrupt or unreadable PDF: {exc}") from None
    title = info_title.strip() or _title_from_stem(stem)
    # Pages become sections so a citation can say where in the PDF the text is.
    body = "\n\n".join(f"## Page {n}\n\n{text}" for n, text in enumerate(pages, 1) if text)
    return LoadedDocument(title=title, text=body, metadata={"title": title})


# DOCX, PPTX, XLSX and HTML go through markitdown, which keeps tables as Markdown tables (the
# rules of many policies live in them). Its converters are called directly rather than through
# MarkItDown(), whose fallback to other converters would turn a corrupt file into garbage text.

_PACKAGES = {
    ".docx": ("DOCX", "word/document.xml", "a Word document"),
    ".pptx": ("PPTX", "ppt/presentation.xml", "a PowerPoint presentation"),
    ".xlsx": ("XLSX", "xl/workbook.xml", "an Excel workbook"),
}
# A few MB of zipped XML can expand into gigabytes (a zip bomb, or a sheet of a million rows):
# refuse before a converter tries to hold it all in memory.
MAX_EXPANDED_BYTES = 256 * 1_048_576
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _check_package(data: bytes, suffix: str) -> None:
    """A clear reason for an Office file that is not what its name says, before conversion."""
    import zipfile
    import zlib

    kind, part, what = _PACKAGES[suffix]
    if data.startswith(_OLE_MAGIC):
        # Password-protected OOXML and the pre-2007 binary formats are both OLE containers.
        raise LoadError(
            f"{kind} is password-protected or in the old binary Office format; save it unencrypted as {suffix}"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
            if part not in names:
                raise LoadError(f"corrupt or unreadable {kind}: not {what} ({part} is missing)")
            expanded = sum(info.file_size for info in package.infolist())
            if expanded > MAX_EXPANDED_BYTES:
                raise LoadError(
                    f"{kind} expands to {expanded / 1_048_576:.0f} MB, over the "
                    f"{MAX_EXPANDED_BYTES / 1_048_576:.0f} MB limit"
                )
            damaged = package.testzip()
    except LoadError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise LoadError(f"corrupt or unreadable {kind}: not a valid ZIP package ({exc})") from None
    if damaged is not None:
        raise LoadError(f"corrupt or unreadable {kind}: {damaged} is damaged (bad checksum)")


def _convert(converter, data: bytes, suffix: str, kind: str, **options) -> str:
    from markitdown import StreamInfo

    try:
        # "-" bullets: the chunker and sentence splitter read "- " as a list item, like Markdown files.
        result = converter.convert(
            io.BytesIO(data), StreamInfo(extension=suffix, charset="utf-8"), bullets="-", **options
        )
    except Exception as exc:  # noqa: BLE001 -- the converters raise whatever their parsers raise
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise LoadError(f"corrupt or unreadable {kind}: {detail}") from None
    return result.markdown or ""


_MARKDOWNIFY_ESCAPE = re.compile(r"\\([*_])")
_EMPTY_HEADER_CELL = re.compile(r"^(|Unnamed: \d+)$")


def tidy_markdown(text: str) -> str:
    """Converter output made fit for chunking and quoting: tables set off by blank lines (the
    chunker splits paragraphs at blank lines and recognises a table by its rows), a table
    without a header row given its first row as header (Word tables have no header row, and
    pandas names the columns of a headerless sheet "Unnamed: 0"), empty cells shown empty
    rather than as pandas' NaN, and markdownify's escapes of * and _ removed."""
    text = clean_markdown(_MARKDOWNIFY_ESCAPE.sub(r"\1", text.replace("\r\n", "\n")))
    out: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if table:
            if out and out[-1].strip():
                out.append("")
            out.extend(_tidy_table(table))
            out.append("")
            table.clear()

    for line in text.split("\n"):
        if line.lstrip().startswith("|"):
            table.append(line.strip())
        else:
            flush()
            out.append(line)
    flush()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _tidy_table(lines: list[str]) -> list[str]:
    rows = [_cells(ln) for ln in lines]
    is_rule = [bool(r) and all(re.fullmatch(r":?-{1,}:?", c) for c in r) for r in rows]
    data = [["" if c == "NaN" else c for c in r] for r, rule in zip(rows, is_rule) if not rule]
    data = [r for r in data if any(r)]
    if not data:
        return []
    if all(_EMPTY_HEADER_CELL.match(c) for c in data[0]) and len(data) > 1:
        data = data[1:]
    width = max(len(r) for r in data)
    data = [r + [""] * (width - len(r)) for r in data]
    render = ["| " + " | ".join(r) + " |" for r in data]
    return [render[0], "| " + " | ".join(["---"] * width) + " |", *render[1:]]


def _title_or_h1(title: str, markdown: str, stem: str) -> str:
    if title.strip():
        return title.strip()
    h1 = _H1.search(markdown)
    return h1.group(1).strip() if h1 else _title_from_stem(stem)


def _load_docx(data: bytes, stem: str) -> LoadedDocument:
    from markitdown.converters import DocxConverter

    _check_package(data, ".docx")
    # mammoth drops Word's Title style to a plain paragraph; as an H1 it becomes the title.
    markdown = tidy_markdown(
        _convert(DocxConverter(), data, ".docx", "DOCX", style_map="p[style-name='Title'] => h1:fresh")
    )
    title = ""
    try:
        import docx

        title = docx.Document(io.BytesIO(data)).core_properties.title or ""
    except Exception:  # noqa: BLE001 -- the title is optional; the text already converted
        pass
    title = _title_or_h1(title, markdown, stem)
    return LoadedDocument(title=title, text=markdown, metadata={"title": title})


_SLIDE_MARK = re.compile(r"^<!-- Slide number: (\d+) -->\s*$", re.M)


def _load_pptx(data: bytes, stem: str) -> LoadedDocument:
    from markitdown.converters import PptxConverter

    _check_package(data, ".pptx")
    raw = _convert(PptxConverter(), data, ".pptx", "PPTX")
    # A slide's title is its heading; a slide without one gets "Slide N", so its text is not
    # cited under the previous slide's title.
    parts = _SLIDE_MARK.split(raw)
    slides: list[str] = []
    for number, body in zip(parts[1::2], parts[2::2]):
        body = body.strip()
        if not body:
            continue
        if not body.startswith("# "):
            body = f"# Slide {number}\n\n{body}"
        slides.append(body)
    markdown = tidy_markdown("\n\n".join(slides) or parts[0])
    title = ""
    try:
        from pptx import Presentation

        title = Presentation(io.BytesIO(data)).core_properties.title or ""
    except Exception:  # noqa: BLE001 -- the title is optional
        pass
    title = title.strip() or _title_from_stem(stem)
    return LoadedDocument(title=title, text=markdown, metadata={"title": title})


def _load_xlsx(data: bytes, stem: str) -> LoadedDocument:
    from markitdown.converters import XlsxConverter

    _check_package(data, ".xlsx")
    # Each sheet arrives as "## Sheet name" and its table.
    markdown = tidy_markdown(_convert(XlsxConverter(), data, ".xlsx", "XLSX"))
    title = ""
    try:
        import openpyxl

        title = openpyxl.load_workbook(io.BytesIO(data), read_only=True).properties.title or ""
    except Exception:  # noqa: BLE001 -- the title is optional
        pass
    title = title.strip() or _title_from_stem(stem)
    return LoadedDocument(title=title, text=markdown, metadata={"title": title})


def _load_html(data: bytes, stem: str) -> LoadedDocument:
    from bs4 import BeautifulSoup
    from markitdown.converters import HtmlConverter

    # Pages generated by a static site keep their front matter (classification, owner...).
    meta, text = _front_matter(_decode(data))
    metadata = _normalise_metadata(meta)
    soup = BeautifulSoup(text, "html.parser")
    # Site chrome repeats on every page and would outrank the page's own words.
    for tag in soup(["script", "style", "nav", "footer", "noscript", "template"]):
        tag.decompose()
    page_title = soup.title.get_text(strip=True) if soup.title else ""
    markdown = tidy_markdown(_convert(HtmlConverter(), str(soup).encode("utf-8"), ".html", "HTML"))
    title = _title_or_h1(metadata.get("title") or page_title, markdown, stem)
    metadata["title"] = title
    return LoadedDocument(title=title, text=markdown, metadata=metadata)
