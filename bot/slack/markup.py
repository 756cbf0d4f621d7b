"""Text for Slack: Markdown to mrkdwn (sections, contexts), Markdown made safe for Markdown
blocks and native streams, escaping, splitting. Pure functions."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

SECTION_LIMIT = 3000  # characters of text in one section block

# --- Markdown to Slack mrkdwn ---------------------------------------------------------------

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_BOLD_MARK = "\x00"


def escape(text: str) -> str:
    """Slack's three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Only these link targets may become Slack links: anything else (``!channel``, ``!here``,
# ``@U…``, ``#C…``, ``!subteam^…``) would turn into a mention or a broadcast from the bot.
_SAFE_LINK = re.compile(r"(?i)^(https?://[^\s]+|mailto:[^\s@]+@[^\s]+)$")
_HOLD = "\x01"


def _link(target: str, label: str) -> str | None:
    """``<target|label>`` for a web or mail link whose target is shown next to its label (so a
    label cannot hide where it leads), or None when the target may not become a link."""
    target = html.unescape(target)  # the text was escaped before links were found
    if not _SAFE_LINK.match(target):
        return None
    if target.lower().startswith("mailto:"):
        where = target[len("mailto:") :]
    else:
        try:
            where = urlsplit(target).hostname or ""
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return None
    label = label.strip() or where or target
    url = escape(target).replace("|", "%7C")
    shown = escape(where)
    if not where or shown.lower() in label.lower():
        return f"<{url}|{label}>"
    return f"<{url}|{label}> ({shown})"


def _inline(text: str) -> str:
    """Inline Markdown of one line (outside code spans) to mrkdwn."""
    text = escape(text.replace(_HOLD, "").replace(_BOLD_MARK, ""))
    held: list[str] = []

    def hold(m: re.Match, image: bool) -> str:
        label = m.group(1) or ("image" if image else "")
        rendered = _link(m.group(2), label)
        if rendered is None:  # left as the text it was
            return m.group(0)
        held.append(rendered)
        return f"{_HOLD}{len(held) - 1}{_HOLD}"

    # Links are set aside while emphasis is converted, so that a `_` or `*` in a URL stays intact.
    text = _IMAGE.sub(lambda m: hold(m, True), text)
    text = _LINK.sub(lambda m: hold(m, False), text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    text = re.sub(f"{_HOLD}(\\d+){_HOLD}", lambda m: held[int(m.group(1))], text)
    return text.replace(_BOLD_MARK, "*")


def _line(text: str) -> str:
    parts: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):  # code spans are kept verbatim (escaped only)
        parts.append(_inline(text[pos : m.start()]))
        parts.append(f"`{escape(m.group(2))}`")
        pos = m.end()
    parts.append(_inline(text[pos:]))
    return "".join(parts)


def to_mrkdwn(markdown: str) -> str:
    """Convert the Markdown a model (or the extractive composer) writes into Slack mrkdwn:
    **bold** → *bold*, [text](url) → <url|text>, headings → bold lines, bullets → •."""
    out: list[str] = []
    in_code = False
    for raw in (markdown or "").replace("\r\n", "\n").split("\n"):
        if raw.strip().startswith("```"):
            in_code = not in_code
            out.append("```")
            continue
        if in_code:
            out.append(escape(raw))
            continue
        heading = _HEADING.match(raw)
        if heading:
            title = re.sub(r"(\*\*|__)(.+?)\1", r"\2", heading.group(1))
            out.append(f"*{_line(title)}*" if title else "")
            continue
        bullet = _BULLET.match(raw)
        if bullet:
            indent = " " * (len(bullet.group(1).expandtabs(4)) // 2 * 2)
            out.append(f"{indent}• {_line(raw[bullet.end() :])}")
            continue
        out.append(_line(raw))
    return "\n".join(out).strip()


# --- splitting ------------------------------------------------------------------------------


def break_at(text: str, limit: int) -> int:
    """Where to cut ``text`` to keep at most ``limit`` characters: the last paragraph, line or
    word break in the window (unless that leaves the piece under a third full)."""
    if len(text) <= limit:
        return len(text)
    window = text[:limit]
    for separator in ("\n\n", "\n", " "):
        cut = window.rfind(separator)
        if cut >= limit // 3:
            return cut
    return limit


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at paragraph, then line, then word breaks."""
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    while len(text) > limit:
        cut = break_at(text, limit)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- Markdown for Markdown blocks and native streams ------------------------------------------

MARKDOWN_LIMIT = 12000  # characters of Markdown in one message (blocks or a stream), Slack's cap

_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\s]*)(?:\s+\"[^\"\n]*\")?\)")
# An @ that starts a word (not the one inside an e-mail address): a word joiner after it keeps
# "@channel", "@here" and "@everyone" from being read as a broadcast, and is invisible.
_WORD_AT = re.compile(r"(?<![\w.+-])@(?=\w)")
_WORD_JOINER = "\u2060"
# The unfinished end of a streamed text whose rendering may still change: a link still open
# ("[label", "[label](http://ex") or a bare "@" whose word has not arrived.
_OPEN_TAIL = re.compile(r"(!?\[[^\]\n]*(\](\([^)\s]*)?)?|(?<![\w.+-])@)$")


def _safe_link(m: re.Match) -> str:
    label, target = m.group(1).strip(), m.group(2)
    if not _SAFE_LINK.match(target):  # a mention, broadcast or script target stays visible text
        return f"{label} ({target})" if label else target
    if target.lower().startswith("mailto:"):
        where = target[len("mailto:") :]
    else:
        try:
            where = urlsplit(target).hostname or ""
        except ValueError:
            return f"{label} ({target})" if label else target
    label = label or where or target
    if not where or where.lower() in label.lower():
        return f"[{label}]({target})"
    return f"[{label}]({target}) ({where})"  # the host is shown, so a label cannot hide where it leads


def safe_markdown(markdown: str) -> str:
    """Markdown for a Markdown block or a stream: only web and mail links stay links (the host
    shown next to the label), ``<`` and ``>`` are entities so nothing becomes Slack's
    ``<!channel>`` / ``<@U…>`` syntax, and a word-initial ``@`` cannot broadcast. Tables,
    emphasis and lists are left for Slack to render."""
    text = _MD_LINK.sub(_safe_link, (markdown or "").replace("\r\n", "\n"))
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return _WORD_AT.sub("@" + _WORD_JOINER, text)


def stable_length(markdown: str) -> int:
    """How much of a text still being streamed renders the same whatever comes next: everything
    before an unfinished link or a trailing ``@``."""
    m = _OPEN_TAIL.search(markdown)
    return m.start() if m else len(markdown)


def split_markdown(markdown: str, limit: int = MARKDOWN_LIMIT) -> list[str]:
    """Safe Markdown in message-sized pieces (the first piece is the message, the rest follow)."""
    return split_text(markdown, limit)
