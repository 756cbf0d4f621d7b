"""Heading-aware chunking sized in the embedding model's own tokens.

A chunk never crosses a heading, so its heading path is a precise citation. Each chunk's
embedded text starts with "Title > Heading > Sub" because a bare paragraph ("Exceptions
need a ticket") is ambiguous without the section it belongs to.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Sequence

# 2: plain-text headings; 3: sentence vectors; 4: with section path; 5: audience;
# 6: tables from DOCX/HTML/PPTX/XLSX (markitdown), split by rows under their header
CHUNKER_VERSION = "6"

TokenCounter = Callable[[Sequence[str]], list[int]]

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[*-])")


@dataclass(frozen=True)
class Section:
    headings: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Chunk:
    index: int
    headings: tuple[str, ...]
    body: str
    text: str  # what gets embedded and shown: heading path + body
    tokens: int

    @property
    def section(self) -> str:
        return " > ".join(self.headings)


def split_sections(markdown: str, title: str) -> list[Section]:
    """Split Markdown at headings; a top-level heading equal to the title is not repeated."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(buf).strip()
        if text:
            sections.append(Section(tuple(h for _, h in stack), text))
        buf.clear()

    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if not match:
            buf.append(line)
            continue
        flush()
        level, heading = len(match.group(1)), _plain(match.group(2))
        while stack and stack[-1][0] >= level:
            stack.pop()
        if not (level == 1 and not stack and heading.strip().lower() == title.strip().lower()):
            stack.append((level, heading))
    flush()
    return sections


def _plain(heading: str) -> str:
    return re.sub(r"[*_`]", "", heading).strip()


def chunk_document(
    title: str,
    markdown: str,
    count_tokens: TokenCounter,
    max_tokens: int = 256,
    overlap_tokens: int = 40,
) -> list[Chunk]:
    """Pack each section's paragraphs (then sentences, then words) into chunks of at most
    ``max_tokens`` model tokens, repeating about ``overlap_tokens`` of context between
    consecutive chunks of the same section."""
    chunks: list[Chunk] = []
    for section in split_sections(markdown, title):
        prefix = " > ".join((title, *section.headings)) + "\n\n"
        prefix_tokens = count_tokens([prefix])[0]
        budget = max(32, max_tokens - prefix_tokens)
        units = _units(section.text, count_tokens, budget)
        for body, n in _pack(units, budget, overlap_tokens):
            chunks.append(Chunk(len(chunks), section.headings, body, prefix + body, n + prefix_tokens))
    return chunks


Unit = tuple[str, int, bool]  # text, tokens, starts a paragraph


def _units(text: str, count_tokens: TokenCounter, budget: int) -> list[Unit]:
    """Paragraphs, split further into sentences and word runs until each fits the budget."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    counts = count_tokens(paragraphs) if paragraphs else []
    units: list[Unit] = []
    for para, n in zip(paragraphs, counts):
        if n <= budget:
            units.append((para, n, True))
            continue
        if _is_table(para):
            units.extend(_table_units(para, count_tokens, budget))
            continue
        pieces = [s for s in _SENTENCE_END.split(para) if s.strip()]
        if len(pieces) == 1:
            pieces = para.splitlines() if "\n" in para else pieces
        first = True
        for piece, m in zip(pieces, count_tokens(pieces)):
            parts = [(piece, m)] if m <= budget else _split_words(piece, count_tokens, budget)
            for part, k in parts:
                units.append((part, k, first))
                first = False
    return units


def _is_table(block: str) -> bool:
    lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
    return len(lines) >= 2 and all(ln.startswith("|") for ln in lines)


def _table_units(table: str, count_tokens: TokenCounter, budget: int) -> list[Unit]:
    """A table too big for one chunk, as groups of rows each under the table's header, so a
    row is never read without its column names. A row that alone exceeds the budget is split
    into words (its header cannot fit beside it)."""
    lines = [ln.strip() for ln in table.splitlines() if ln.strip()]
    has_rule = len(lines) > 1 and set(re.sub(r"[|:\s]", "", lines[1])) == {"-"}
    header = "\n".join(lines[:2]) if has_rule else lines[0]
    rows = lines[2:] if has_rule else lines[1:]
    header_tokens = count_tokens([header])[0]
    if header_tokens * 2 > budget:  # a header that leaves no room for rows is not worth repeating
        header, header_tokens = "", 0
    units: list[Unit] = []
    group: list[str] = []
    size = header_tokens
    for row, n in zip(rows, count_tokens(rows)):
        if group and size + n + 1 > budget:
            units.append(_table_group(header, group, size))
            group, size = [], header_tokens
        if header_tokens + n + 1 > budget:
            units.extend((piece, k, True) for piece, k in _split_words(row, count_tokens, budget))
            continue
        group.append(row)
        size += n + 1
    if group:
        units.append(_table_group(header, group, size))
    return units


def _table_group(header: str, rows: list[str], size: int) -> Unit:
    return ("\n".join([header, *rows]) if header else "\n".join(rows), size, True)


def _split_words(text: str, count_tokens: TokenCounter, budget: int) -> list[tuple[str, int]]:
    words = text.split()
    out: list[tuple[str, int]] = []
    start = 0
    # Word pieces per word vary; halve the window until it fits rather than count per word.
    step = max(1, budget // 2)
    while start < len(words):
        size = min(step, len(words) - start)
        while size > 1:
            piece = " ".join(words[start : start + size])
            if count_tokens([piece])[0] <= budget:
                break
            size //= 2
        piece = " ".join(words[start : start + size])
        out.append((piece, count_tokens([piece])[0]))
        start += size
    return out


def _pack(units: list[Unit], budget: int, overlap: int) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    current: list[Unit] = []
    size = 0
    for unit in units:
        # +1 approximates the separator; the tokenizer does not count blank lines.
        if current and size + unit[1] + 1 > budget:
            out.append(_join(current))
            carried: list[Unit] = []
            carried_size = 0
            for prev in reversed(current):
                if carried_size + prev[1] > overlap or carried_size + prev[1] + unit[1] > budget:
                    break
                carried.insert(0, prev)
                carried_size += prev[1] + 1
            current, size = carried, carried_size
        current.append(unit)
        size += unit[1] + 1
    if current:
        out.append(_join(current))
    return out


def _join(units: list[Unit]) -> tuple[str, int]:
    text = units[0][0]
    for unit, _, para_start in units[1:]:
        text += ("\n\n" if para_start else " ") + unit
    return text, sum(u[1] for u in units) + len(units) - 1


def _table_rows(lines: list[str]) -> list[str]:
    """Each data row of a Markdown table as a bullet that names its columns."""
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    rows = [r for r in rows if not all(re.fullmatch(r":?-{2,}:?", c) for c in r if c)]
    if len(rows) < 2:
        return []
    header, data = rows[0], rows[1:]
    return ["- " + "; ".join(f"{h}: {v}" for h, v in zip(header, row) if v and v != "—") for row in data]


def sentence_units(body: str, min_chars: int = 16) -> list[str]:
    """The pieces an answer quotes: bullets, table rows (naming their columns) and sentences.
    Each is embedded on its own too, so that one matching sentence can lift its chunk."""
    units: list[str] = []
    for block in re.split(r"\n\s*\n", body):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        if all(ln.startswith("|") for ln in lines):
            units.extend(_table_rows(lines))
        elif all(re.match(r"([-*+]|\d+[.)])\s", ln) for ln in lines):
            units.extend(lines)
        else:
            units.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(lines)) if s.strip())
    return [u for u in units if len(u) >= min_chars]


def chunk_id(source: str, content_hash: str, index: int) -> str:
    """Stable across runs for the same file content, distinct for every version of it."""
    key = hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]
    return f"{key}-{content_hash[:12]}-{index:04d}"
