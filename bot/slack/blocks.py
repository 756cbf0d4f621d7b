"""Block Kit rendering. Pure functions from core results to Slack payloads (no I/O)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .markup import (  # escape and to_mrkdwn are part of this module's interface
    SECTION_LIMIT,
    _link,
    escape,
    safe_markdown,
    split_markdown,
    split_text,
    to_mrkdwn,
    truncate,
)

MAX_BLOCKS = 50  # blocks in one message or view
FALLBACK_LIMIT = 3000  # the notification text sent next to the blocks

THINKING = "Thinking…"
FEEDBACK = "answer_feedback"  # the footer's feedback_buttons
# The buttons of answers posted before the footer existed; their clicks are still recorded.
FEEDBACK_HELPFUL = "feedback_helpful"
FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"
ADMIN_REINGEST = "admin_reingest"

# Assessment buttons. Option buttons are ASSESS_ANSWER + "_<n>" (action ids are unique per message).
ASSESS_PREFIX = "assess_"
ASSESS_ANSWER = "assess_answer"
ASSESS_BACK = "assess_back"
ASSESS_RESTART = "assess_restart"
ASSESS_CANCEL = "assess_cancel"
ASSESS_RESUME = "assess_resume"
ASSESS_START = "assess_start"
ASSESS_CONFIRM_YES = "assess_confirm_yes"
ASSESS_CONFIRM_NO = "assess_confirm_no"
ASSESS_SHARE = "assess_share"
ASSESS_SHARE_TO = "assess_share_to"
ASSESS_WHAT_IF = "assess_what_if"

Block = dict[str, Any]

# --- blocks ------------------------------------------------------------------------------


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
    linked = _link(source["url"], escape(label)) if source.get("url") else None
    if linked is None:  # no address (or not a web one): the document's path says where it is
        where = source.get("source")
        return f"[{source.get('n', '?')}] {escape(label)}" + (f" · `{escape(where)}`" if where else "")
    return f"[{source.get('n', '?')}] {linked}"


def sources_blocks(sources: Sequence[Mapping[str, Any]], abstained: bool) -> list[Block]:
    if not sources:
        return []
    heading = "*Closest documents*" if abstained else "*Sources*"
    return sections(heading + "\n" + "\n".join(source_line(s) for s in sources))


def markdown(text: str) -> Block:
    """A Markdown block (tables and lists survive); ``text`` must already be safe_markdown."""
    return {"type": "markdown", "text": text}


def feedback_block(answer_id: str) -> Block:
    """👍/👎 in the message footer; the value carries the vote and the answer id."""

    def choice(text: str, label: str, vote: str) -> dict:
        return {
            "text": {"type": "plain_text", "text": text},
            "accessibility_label": label,
            "value": f"{vote}|{answer_id}",
        }

    return {
        "type": "context_actions",
        "block_id": f"feedback:{answer_id}",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK,
                "positive_button": choice("Helpful", "This answer was helpful", "up"),
                "negative_button": choice("Not helpful", "This answer was not helpful", "down"),
            }
        ],
    }


def parse_feedback(value: str) -> tuple[str, bool] | None:
    """(answer id, helpful) from a feedback button's value, or None when it is not one."""
    vote, _, answer_id = (value or "").partition("|")
    if vote not in ("up", "down") or not answer_id:
        return None
    return answer_id, vote == "up"


FEEDBACK_REASON = "feedback_reason"
FEEDBACK_REASONS = (
    ("wrong", "Wrong or out of date"),
    ("off_topic", "Didn't answer my question"),
    ("sources", "Missing or wrong sources"),
    ("other", "Something else"),
)


def feedback_reason_blocks(answer_id: str) -> list[Block]:
    """After a 👎: what was wrong (optional; one click)."""
    return [
        section("Thanks. What was wrong with it? (optional)"),
        {
            "type": "actions",
            "block_id": f"feedback_reason:{answer_id}",
            "elements": [
                button(label, f"{FEEDBACK_REASON}_{key}", f"{answer_id}|{key}") for key, label in FEEDBACK_REASONS
            ],
        },
    ]


def answer_context(answer) -> str:
    line = escape(answer.route_label)
    if getattr(answer, "error", None):
        line += " · the model failed, so this answer was composed without it"
    return line


def answer_tail(answer) -> list[Block]:
    """What follows the answer's text: its sources, the route, the feedback footer."""
    tail = sources_blocks(answer.sources, answer.abstained)[:3]
    tail.append(context(answer_context(answer)))
    if answer.id:
        tail.append(feedback_block(answer.id))
    return tail


def answer_pieces(answer) -> list[str]:
    """The answer's text as safe Markdown, in pieces of at most one message each."""
    return split_markdown(safe_markdown(answer.text)) or ["_(empty answer)_"]


def answer_messages(answer) -> list[list[Block]]:
    """An ``bot.answer.Answer`` as one or more messages: the text in Markdown blocks (continued
    in follow-up messages past Slack's per-message limit), then the tail on the last one."""
    messages = [[markdown(piece)] for piece in answer_pieces(answer)]
    messages[-1].extend(answer_tail(answer))
    return messages


def answer_blocks(answer) -> list[Block]:
    """The answer as a single message (a slash-command reply can only be one): text past the
    limit is cut with a note."""
    pieces = answer_pieces(answer)
    text = pieces[0] if len(pieces) == 1 else truncate(pieces[0], len(pieces[0]) - 40) + "\n\n_(truncated)_"
    return [markdown(text)] + answer_tail(answer)


def answer_fallback(answer) -> str:
    """The ``text`` sent with the blocks (notifications, screen readers, search)."""
    return truncate(to_mrkdwn(answer.text), FALLBACK_LIMIT)


def partial_text(text: str) -> str:
    """The placeholder while a model streams: the text so far, converted, with an ellipsis."""
    return truncate(to_mrkdwn(text), 3900) + " …"


def error_text(error_id: str, what: str = "answering") -> str:
    return (
        f":warning: Sorry, something went wrong while {what} (error id `{error_id}`). "
        "Please try again; if it keeps happening, give this id to the bot's admins."
    )


# --- help and status ------------------------------------------------------------------------

HELP_TEXT = (
    "*GenAI Strategy Advisor* answers from your organisation's GenAI guidance and AI policies, "
    "with citations.\n\n"
    "• Mention me in a channel (`@GenAI Strategy Advisor …`): I answer in a thread; reply in that thread "
    "for a follow-up, no mention needed.\n"
    "• On any message: *…* → *Ask the advisor about this*.\n"
    "• Send me a direct message, or open my *Messages* tab.\n"
    "• `/advisor ask &lt;question&gt;`: a private answer, here.\n"
    "• `/advisor status`: what the knowledge index holds.\n"
    "• `/advisor help`: this help."
)


def help_blocks(note: str = "", extra: Mapping[str, str] | None = None) -> list[Block]:
    """The help; ``extra`` adds subcommands (name → one-line description)."""
    text = HELP_TEXT
    for name, description in (extra or {}).items():
        text += f"\n• `/advisor {name}`: {escape(description)}"
    blocks = [section(text)]
    if note:
        blocks.insert(0, section(note))
    return blocks


def help_fallback(note: str = "") -> str:
    return (note + "\n\n" if note else "") + (
        "GenAI Strategy Advisor: /advisor ask &lt;question&gt; | assess | status | ingest | help"
    )


def last_ingest_text(status: Mapping[str, Any]) -> str:
    last = status.get("last_run")
    if not last:
        return "never"
    when = last.get("finished_at") or last.get("started_at") or "?"
    return (
        f"{when} ({last.get('status', '?')}: +{last.get('added', 0)} ~{last.get('updated', 0)} "
        f"-{last.get('removed', 0)}, {last.get('failed', 0)} failed)"
    )


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


def home_view(
    status: Mapping[str, Any] | None,
    *,
    is_admin: bool,
    assessments: list[Block] | None = None,
    notice: str = "",
    runs: Sequence[Mapping[str, Any]] | None = None,
) -> dict:
    """The App Home tab."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "GenAI Strategy Advisor"}},
        section(
            "Cited answers on adopting generative AI and following your AI policies. "
            "Mention me in a channel, message me in the *Messages* tab, or use `/advisor`."
        ),
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
        blocks.append(
            {
                "type": "actions",
                "block_id": "admin",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ADMIN_REINGEST,
                        "value": "reingest",
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Re-ingest knowledge"},
                    }
                ],
            }
        )
        blocks.append(
            context(
                "Add or replace a policy: share the file (PDF, DOCX, Markdown, text, HTML) with me "
                "in a DM, optionally with `replace &lt;document&gt;`. Remove one: "
                "`/advisor ingest remove &lt;document&gt;`."
            )
        )
        blocks.append(
            section(
                "*Last ingest runs*\n" + ("\n".join(run_line(r) for r in runs) if runs else "_No ingest has run yet._")
            )
        )
    if notice:
        blocks.append(context(notice))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def counts_text(counts: Mapping[str, Any]) -> str:
    """ "N added, N updated, N unchanged, N removed, N failed" of an ingest report or run
    (``failed`` may be the count or the list of failures)."""
    failed = counts.get("failed") or 0
    failed = len(failed) if isinstance(failed, (list, tuple)) else failed
    parts = [f"{counts.get(key) or 0} {key}" for key in ("added", "updated", "unchanged", "removed")]
    return ", ".join(parts + [f"{failed} failed"])


def ingest_report_text(report: Mapping[str, Any]) -> str:
    failed = report.get("failed") or []
    text = (
        f"Re-ingest finished in {report.get('seconds', 0)} s: {counts_text(report)}; {report.get('chunks', 0)} chunks."
    )
    for failure in failed[:10]:
        text += f"\n• failed `{escape(str(failure.get('path')))}`: {escape(str(failure.get('error')))}"
    return text


def run_line(run: Mapping[str, Any]) -> str:
    """One ingest run (a row of ``index.runs()``) for the App Home."""
    when = (run.get("finished_at") or run.get("started_at") or "?").replace("T", " ")[:19]
    status = run.get("status") or "?"
    icon = {
        "ok": ":white_check_mark:",
        "failed": ":x:",
        "running": ":hourglass_flowing_sand:",
        "crashed": ":warning:",
    }.get(status, "")
    line = f"{icon} {escape(when)} · {escape(status)} · {counts_text(run)}"
    if run.get("seconds") is not None:
        line += f" · {float(run['seconds']):.1f} s"
    return line.strip()


# --- admin: ingest progress, summaries, uploads ------------------------------------------------


def ingest_progress_text(done: int, total: int) -> str:
    return f":hourglass_flowing_sand: Ingesting… {done}/{total} files"


def _names(items: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(f"`{escape(str(i))}`" for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def ingest_summary_blocks(report) -> list[Block]:
    """An ``IngestReport``: the counts, the documents that changed and every failure's reason."""
    data = report.to_dict()
    lines = [ingest_report_text({**data, "failed": []})]
    for label, items in (("Added", report.added), ("Updated", report.updated), ("Removed", report.removed)):
        if items:
            lines.append(f"• {label}: {_names(items)}")
    body = "\n".join(lines)
    if report.failed:
        body += "\n*Failed*\n" + "\n".join(
            f"• `{escape(str(f.get('path')))}`: {escape(str(f.get('error')))}" for f in report.failed[:15]
        )
        if len(report.failed) > 15:
            body += f"\n• … and {len(report.failed) - 15} more"
    return sections(body)


def upload_result_text(result, archived_name: str | None) -> str:
    """What an admin's upload did: added or replaced, where the old version went, the ingest."""
    report = result.report
    verb = "Replaced" if result.replaced else "Added"
    text = f":white_check_mark: {verb} `{escape(result.source)}` in the knowledge."
    if archived_name:
        text += f" The previous version is archived as `{escape(archived_name)}`."
    data = report.to_dict()
    text += f"\nIngest: {counts_text(data)}; {data['chunks']} chunks in {data['seconds']:.1f} s."
    for failure in report.failed[:5]:
        text += f"\n• failed `{escape(str(failure.get('path')))}`: {escape(str(failure.get('error')))}"
    return text


# --- buttons ------------------------------------------------------------------------------------


def button(
    text: str, action_id: str, value: str, style: str | None = None, confirm: Mapping[str, Any] | None = None
) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": truncate(text, 75), "emoji": True},
    }
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = dict(confirm)
    return button
