"""Block Kit rendering. Pure functions from core results to Slack payloads (no I/O)."""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

SECTION_LIMIT = 3000  # characters of text in one section block
MAX_BLOCKS = 50  # blocks in one message or view
FALLBACK_LIMIT = 3000  # the notification text sent next to the blocks

THINKING = "Thinking…"
FEEDBACK_HELPFUL = "feedback_helpful"
FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"
ADMIN_REINGEST = "admin_reingest"

Block = dict[str, Any]

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


def _inline(text: str) -> str:
    """Inline Markdown of one line (outside code spans) to mrkdwn."""
    text = escape(text)
    text = _IMAGE.sub(lambda m: f"<{m.group(2)}|{m.group(1) or m.group(2)}>", text)
    text = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    return text.replace(_BOLD_MARK, "*")


def _line(text: str) -> str:
    parts: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):  # code spans are kept verbatim (escaped only)
        parts.append(_inline(text[pos:m.start()]))
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
            out.append(f"{indent}• {_line(raw[bullet.end():])}")
            continue
        out.append(_line(raw))
    return "\n".join(out).strip()


# --- splitting ------------------------------------------------------------------------------

def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at paragraph, then line, then word breaks."""
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), -1)
        if cut < limit // 3:
            cut = window.rfind("\n")
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut < limit // 3:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def sections(text: str) -> list[Block]:
    return [section(piece) for piece in split_text(text)]


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(t, 3000)} for t in texts if t][:10]}


def _fit(body: list[Block], tail: list[Block], limit: int = MAX_BLOCKS) -> list[Block]:
    """Body blocks followed by tail blocks, never more than ``limit``; the body is cut first."""
    room = limit - len(tail)
    if len(body) > room:
        body = body[:room]
        last = body[-1]
        if last.get("type") == "section":
            last["text"]["text"] = truncate(last["text"]["text"], SECTION_LIMIT - 20) + "\n_(truncated)_"
    return (body + tail)[:limit]


# --- answers --------------------------------------------------------------------------------

def source_line(source: Mapping[str, Any]) -> str:
    title = source.get("title") or source.get("source") or "source"
    section_name = (source.get("section") or "").replace(" > ", " › ")
    label = f"{title} › {section_name}" if section_name else title
    return f"[{source.get('n', '?')}] {escape(label)}"


def sources_blocks(sources: Sequence[Mapping[str, Any]], abstained: bool) -> list[Block]:
    if not sources:
        return []
    heading = "*Closest documents*" if abstained else "*Sources*"
    return sections(heading + "\n" + "\n".join(source_line(s) for s in sources))


def feedback_block(answer_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": f"feedback:{answer_id}",
        "elements": [
            {"type": "button", "action_id": FEEDBACK_HELPFUL, "value": answer_id,
             "text": {"type": "plain_text", "text": "👍 Helpful", "emoji": True}},
            {"type": "button", "action_id": FEEDBACK_NOT_HELPFUL, "value": answer_id,
             "text": {"type": "plain_text", "text": "👎 Not helpful", "emoji": True}},
        ],
    }


def answer_context(answer) -> str:
    line = escape(answer.route_label)
    if getattr(answer, "error", None):
        line += " · the model failed, so this answer was composed without it"
    return line


def answer_blocks(answer) -> list[Block]:
    """An ``bot.answer.Answer`` as Block Kit: the answer, its sources, the route, feedback."""
    body = sections(to_mrkdwn(answer.text)) or [section("_(empty answer)_")]
    tail = sources_blocks(answer.sources, answer.abstained)[:3]
    tail.append(context(answer_context(answer)))
    if answer.id:
        tail.append(feedback_block(answer.id))
    return _fit(body, tail)


def answer_fallback(answer) -> str:
    """The ``text`` sent with the blocks (notifications, screen readers, search)."""
    return truncate(to_mrkdwn(answer.text), FALLBACK_LIMIT)


def partial_text(text: str) -> str:
    """The placeholder while a model streams: the text so far, converted, with an ellipsis."""
    return truncate(to_mrkdwn(text), 3900) + " …"


def error_text(error_id: str, what: str = "answering") -> str:
    return (f":warning: Sorry, something went wrong while {what} (error id `{error_id}`). "
            "Please try again; if it keeps happening, give this id to the bot's admins.")


# --- help and status ------------------------------------------------------------------------

HELP_TEXT = (
    "*GenAI Strategy Advisor* answers from your organisation's GenAI guidance and AI policies, "
    "with citations.\n\n"
    "• Mention me in a channel (`@GenAI Strategy Advisor …`): I answer in a thread; mention me again in "
    "that thread for a follow-up.\n"
    "• Send me a direct message, or open my *Messages* tab.\n"
    "• `/advisor ask <question>`: a private answer, here.\n"
    "• `/advisor status`: what the knowledge index holds.\n"
    "• `/advisor help`: this help."
)


def help_blocks(disabled: Iterable[str] = (), note: str = "", extra: Mapping[str, str] | None = None) -> list[Block]:
    """The help; ``extra`` adds enabled subcommands (name → one-line description)."""
    text = HELP_TEXT
    for name, description in (extra or {}).items():
        text += f"\n• `/advisor {name}`: {escape(description)}"
    blocks = [section(text)]
    disabled = list(disabled)
    if disabled:
        names = ", ".join(f"`/advisor {name}`" for name in disabled)
        blocks.append(context(f"{names}: not enabled yet in this workspace."))
    if note:
        blocks.insert(0, section(note))
    return blocks


def help_fallback(note: str = "") -> str:
    return (note + "\n\n" if note else "") + "GenAI Strategy Advisor: /advisor ask <question> | status | help"


def last_ingest_text(status: Mapping[str, Any]) -> str:
    last = status.get("last_run")
    if not last:
        return "never"
    when = last.get("finished_at") or last.get("started_at") or "?"
    return (f"{when} ({last.get('status', '?')}: +{last.get('added', 0)} ~{last.get('updated', 0)} "
            f"-{last.get('removed', 0)}, {last.get('failed', 0)} failed)")


def status_text(status: Mapping[str, Any]) -> str:
    return (
        "*Knowledge*\n"
        f"• Documents: *{status.get('documents', 0)}*\n"
        f"• Chunks: *{status.get('chunks', 0)}*\n"
        f"• Last ingest: {escape(last_ingest_text(status))}"
    )


def status_blocks(status: Mapping[str, Any]) -> list[Block]:
    details = [f"Embeddings: {status.get('embedding_model') or '-'}", f"Model: {status.get('llm') or '-'}"]
    if status.get("llm_local"):
        details.append(f"Self-hosted model: {status['llm_local']}")
    return [section(status_text(status)), context(escape(" · ".join(details)))]


def home_view(status: Mapping[str, Any] | None, *, is_admin: bool,
              assessments: list[Block] | None = None, notice: str = "") -> dict:
    """The App Home tab."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "GenAI Strategy Advisor"}},
        section("Cited answers on adopting generative AI and following your AI policies. "
                "Mention me in a channel, message me in the *Messages* tab, or use `/advisor`."),
        {"type": "divider"},
    ]
    if status is None:
        blocks.append(section("*Knowledge*\n_The knowledge index could not be read right now._"))
    else:
        blocks.extend(status_blocks(status))
    blocks.append({"type": "divider"})
    blocks.append(section("*Your recent assessments*"))
    blocks.extend(assessments or [context("Assessments you run will be listed here.")])
    if is_admin:
        blocks.append({"type": "divider"})
        blocks.append(section("*Admin*"))
        blocks.append({
            "type": "actions",
            "block_id": "admin",
            "elements": [{
                "type": "button", "action_id": ADMIN_REINGEST, "value": "reingest", "style": "primary",
                "text": {"type": "plain_text", "text": "Re-ingest knowledge"},
            }],
        })
    if notice:
        blocks.append(context(notice))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def ingest_report_text(report: Mapping[str, Any]) -> str:
    failed = report.get("failed") or []
    text = (f"Re-ingest finished in {report.get('seconds', 0)} s: {report.get('added', 0)} added, "
            f"{report.get('updated', 0)} updated, {report.get('unchanged', 0)} unchanged, "
            f"{report.get('removed', 0)} removed, {len(failed)} failed; {report.get('chunks', 0)} chunks.")
    for failure in failed[:10]:
        text += f"\n• failed `{escape(str(failure.get('path')))}`: {escape(str(failure.get('error')))}"
    return text
