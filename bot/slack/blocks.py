"""Block Kit rendering. Pure functions from core results to Slack payloads (no I/O)."""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from .markup import (  # noqa: F401 — escape and to_mrkdwn are part of this module's interface
    SECTION_LIMIT, _link, escape, safe_markdown, split_markdown, split_text, to_mrkdwn, truncate,
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
        return {"text": {"type": "plain_text", "text": text}, "accessibility_label": label,
                "value": f"{vote}|{answer_id}"}

    return {
        "type": "context_actions",
        "block_id": f"feedback:{answer_id}",
        "elements": [{"type": "feedback_buttons", "action_id": FEEDBACK,
                      "positive_button": choice("Helpful", "This answer was helpful", "up"),
                      "negative_button": choice("Not helpful", "This answer was not helpful", "down")}],
    }


def parse_feedback(value: str) -> tuple[str, bool] | None:
    """(answer id, helpful) from a feedback button's value, or None when it is not one."""
    vote, _, answer_id = (value or "").partition("|")
    if vote not in ("up", "down") or not answer_id:
        return None
    return answer_id, vote == "up"


FEEDBACK_REASON = "feedback_reason"
FEEDBACK_REASONS = (("wrong", "Wrong or out of date"), ("off_topic", "Didn't answer my question"),
                    ("sources", "Missing or wrong sources"), ("other", "Something else"))


def feedback_reason_blocks(answer_id: str) -> list[Block]:
    """After a 👎: what was wrong (optional; one click)."""
    return [
        section("Thanks. What was wrong with it? (optional)"),
        {"type": "actions", "block_id": f"feedback_reason:{answer_id}", "elements": [
            button(label, f"{FEEDBACK_REASON}_{key}", f"{answer_id}|{key}") for key, label in FEEDBACK_REASONS]},
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
    return (f":warning: Sorry, something went wrong while {what} (error id `{error_id}`). "
            "Please try again; if it keeps happening, give this id to the bot's admins.")


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
    return (note + "\n\n" if note else "") + ("GenAI Strategy Advisor: /advisor ask &lt;question&gt; | assess | status | "
                                               "ingest | help")


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
              assessments: list[Block] | None = None, notice: str = "",
              runs: Sequence[Mapping[str, Any]] | None = None) -> dict:
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
        blocks.append(context("Add or replace a policy: share the file (PDF, DOCX, Markdown, text, HTML) with me "
                              "in a DM, optionally with `replace &lt;document&gt;`. Remove one: "
                              "`/advisor ingest remove &lt;document&gt;`."))
        blocks.append(section("*Last ingest runs*\n" + ("\n".join(run_line(r) for r in runs) if runs
                                                        else "_No ingest has run yet._")))
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


def run_line(run: Mapping[str, Any]) -> str:
    """One ingest run (a row of ``index.runs()``) for the App Home."""
    when = (run.get("finished_at") or run.get("started_at") or "?").replace("T", " ")[:19]
    status = run.get("status") or "?"
    icon = {"ok": ":white_check_mark:", "failed": ":x:", "running": ":hourglass_flowing_sand:",
            "crashed": ":warning:"}.get(status, "")
    line = (f"{icon} {escape(when)} · {escape(status)} · {run.get('added') or 0} added, "
            f"{run.get('updated') or 0} updated, {run.get('unchanged') or 0} unchanged, "
            f"{run.get('removed') or 0} removed, {run.get('failed') or 0} failed")
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
            f"• `{escape(str(f.get('path')))}`: {escape(str(f.get('error')))}" for f in report.failed[:15])
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
    text += (f"\nIngest: {data['added']} added, {data['updated']} updated, {data['unchanged']} unchanged, "
             f"{data['removed']} removed, {len(report.failed)} failed; {data['chunks']} chunks "
             f"in {data['seconds']:.1f} s.")
    for failure in report.failed[:5]:
        text += f"\n• failed `{escape(str(failure.get('path')))}`: {escape(str(failure.get('error')))}"
    return text


# --- assessments ---------------------------------------------------------------------------------

def button(text: str, action_id: str, value: str, style: str | None = None,
            confirm: Mapping[str, Any] | None = None) -> Block:
    button: Block = {"type": "button", "action_id": action_id, "value": value,
                     "text": {"type": "plain_text", "text": truncate(text, 75), "emoji": True}}
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = dict(confirm)
    return button


def pack(**fields: Any) -> str:
    """A button value: compact JSON."""
    return json.dumps(fields, separators=(",", ":"))


def question_blocks(session, question, total: int, note: str = "") -> list[Block]:
    """One assessment question: its options as buttons, then Back, Restart and Cancel."""
    step = session.step
    header = f"*Question {step + 1} of {total}* · {escape(question.topic)}\n*{escape(question.prompt)}*"
    blocks: list[Block] = []
    if note:
        blocks.append(section(note))
    blocks.append(section(header))
    if question.help:
        blocks.append(context(escape(question.help)))
    blocks.append({
        "type": "actions", "block_id": f"assess_options:{step}",
        "elements": [button(o.label, f"{ASSESS_ANSWER}_{n}", pack(s=session.id, q=question.id, n=step, v=o.value))
                     for n, o in enumerate(question.options)][:25],
    })
    nav = pack(s=session.id, n=step)
    blocks.append({
        "type": "actions", "block_id": f"assess_nav:{step}",
        "elements": [
            button("◀ Back", ASSESS_BACK, nav),
            button("Restart", ASSESS_RESTART, nav),
            button("Cancel", ASSESS_CANCEL, nav, "danger", confirm={
                "title": {"type": "plain_text", "text": "Cancel the assessment?"},
                "text": {"type": "plain_text", "text": "Your answers so far will be discarded."},
                "confirm": {"type": "plain_text", "text": "Cancel it"},
                "deny": {"type": "plain_text", "text": "Keep going"},
            }),
        ],
    })
    blocks.append(context("Click an answer, or reply in this thread in your own words."))
    return blocks


def question_text(session, question, total: int) -> str:
    options = " / ".join(o.label for o in question.options)
    return f"Question {session.step + 1} of {total}: {question.prompt} ({options})"


def confirm_blocks(session, question, value: str) -> list[Block]:
    """ "Did you mean X?" for a typed reply that matched an option without confidence."""
    label = question.option(value).label
    packed = pack(s=session.id, q=question.id, n=session.step, v=value)
    return [
        section(f"Did you mean *{escape(label)}* for “{escape(question.prompt)}”?"),
        {"type": "actions", "block_id": f"assess_confirm:{session.step}", "elements": [
            button("Yes", ASSESS_CONFIRM_YES, packed, "primary"),
            button("No", ASSESS_CONFIRM_NO, packed),
        ]},
    ]


def open_session_text(session, total: int) -> str:
    position = min(session.step + 1, total)
    return (f"You already have an assessment in progress (question {position} of {total}). "
            "Resume it where you left off, or restart it from the first question?")


def resume_blocks(session, total: int, text: str | None = None) -> list[Block]:
    value = pack(s=session.id)
    return [
        section(escape(text or open_session_text(session, total))),
        {"type": "actions", "block_id": "assess_open", "elements": [
            button("Resume", ASSESS_RESUME, value, "primary"),
            button("Restart", ASSESS_RESTART, value),
            button("Cancel it", ASSESS_CANCEL, value, "danger"),
        ]},
    ]


class _Sources:
    """Numbers citations in the order they are first cited."""

    def __init__(self, titles: Mapping[str, str] | None = None) -> None:
        self.items: dict[tuple[str, str], int] = {}
        self.titles: dict[tuple[str, str], str] = {}
        self.document_titles = dict(titles or {})

    def ref(self, document: str, section_name: str = "", title: str = "") -> str:
        key = (document, section_name or "")
        if key not in self.items:
            self.items[key] = len(self.items) + 1
        if title:
            self.titles[key] = title
        return f"[{self.items[key]}]"

    def lines(self) -> list[str]:
        out = []
        for (document, section_name), n in self.items.items():
            label = self.titles.get((document, section_name)) or self.document_titles.get(document) or document
            if section_name:
                label += " › " + section_name.replace(" > ", " › ")
            out.append(f"[{n}] {escape(label)}")
        return out


def _approach_name(framework, approach_id: str, long: bool = False) -> str:
    approach = framework.approaches.get(approach_id) if framework is not None else None
    if approach is None:
        return approach_id
    return approach.title if long else approach.short


def _scores(framework, scores: Mapping[str, float]) -> str:
    return ", ".join(f"{_approach_name(framework, a)} {v:g}" for a, v in scores.items())


def _rationale_lines(framework, report: Mapping[str, Any], sources: _Sources) -> list[str]:
    lines = []
    for line in report.get("rationale", []):
        refs = ""
        try:
            question = framework.question(line["question"])
            refs = " " + "".join(sources.ref(c.document, c.section) for c in question.cite) if question.cite else ""
        except (KeyError, AttributeError):
            pass
        lines.append(f"• {escape(line.get('effect', ''))}{refs}")
    return lines


def what_if_blocks(report: Mapping[str, Any], session=None) -> list[Block]:
    """The answers that, changed on their own, change the recommendation; with a session, a
    button per change re-runs the result with it (a copy: the original stays in the history)."""
    changes = list(report.get("what_would_change") or [])
    if not changes:
        return [context("No single change of answer would change this recommendation.")]
    out = sections("*What would change the answer*\n" + "\n".join(f"• {escape(c['text'])}" for c in changes[:10]))
    if session is not None:
        out.append({"type": "actions", "block_id": f"assess_what_if:{session.id}", "elements": [
            button(f"Try: {c['text']}", f"{ASSESS_WHAT_IF}_{n}", pack(s=session.id, q=c["question"], v=c["to"]))
            for n, c in enumerate(changes[:5])]})
    return out


def result_blocks(framework, report: Mapping[str, Any], session=None, *, share: str | None = None,
                  pick_channel: bool = False, titles: Mapping[str, str] | None = None, note: str = "") -> list[Block]:
    """An assessment result: the recommendation, why (per answer), the guidance's hard rules that
    applied, what would change it, the guidance on the approach (pros, cons, when to choose it), the
    policies that bear on the answers, next steps and the numbered sources; ``share`` adds the
    "Share to channel" button for that channel, and ``pick_channel`` a channel picker instead;
    ``titles`` names the cited documents; ``note`` heads it (a what-if copy says what changed)."""
    sources = _Sources(titles)
    title = report.get("title") or _approach_name(framework, report.get("recommendation", ""), long=True)
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(f"Recommendation: {title}", 150)}},
        context(f"Confidence *{float(report.get('confidence', 0)):.0%}* · scores: "
                f"{escape(_scores(framework, report.get('scores', {})))}"),
    ]
    if note:
        blocks.insert(1, section(escape(note)))
    blocks.extend(sections("*Why: your answers*\n" + "\n".join(_rationale_lines(framework, report, sources))))
    if report.get("conflicts"):
        blocks.extend(sections("*Tensions in your answers*\n"
                               + "\n".join(f":warning: {escape(c)}" for c in report["conflicts"])))
    if report.get("rules"):
        blocks.extend(sections("*Rules from the guidance*\n"
                               + "\n".join(f":no_entry: {escape(r)}" for r in report["rules"])))
    blocks.extend(what_if_blocks(report, session))
    labels = {"pros": "Pros", "cons": "Cons", "when": "When to choose it"}
    for kind, label in labels.items():
        part = (report.get("guidance") or {}).get(kind)
        if not part or not part.get("text"):
            continue
        ref = sources.ref(part["document"], part["section"])
        blocks.extend(sections(f"*{label}* {ref}\n" + truncate(to_mrkdwn(part["text"]), 2500)))
    policies = report.get("policies") or []
    if policies:
        lines = []
        for policy in policies:
            ref = sources.ref(policy["source"], policy.get("section") or "", policy.get("title") or "")
            name = escape(policy.get("title") or policy["source"])
            where = f" › {escape(policy['section'].replace(' > ', ' › '))}" if policy.get("section") else ""
            lines.append(f"• *{name}*{where} {ref}: relevant to your answer “{escape(policy.get('because', ''))}”")
            if policy.get("excerpt"):
                lines.append(f"   _{escape(policy['excerpt'])}_")
        blocks.extend(sections("*Internal policies that bear on your answers*\n" + "\n".join(lines)))
    if report.get("next_steps"):
        blocks.extend(sections("*Next steps*\n" + "\n".join(f"• {escape(s)}" for s in report["next_steps"])))
    for citation in report.get("citations") or []:  # every citation of the engine is listed
        sources.ref(citation["document"], citation["section"])
    tail: list[Block] = sections("*Sources*\n" + "\n".join(sources.lines()))[:2]
    elements = []
    if session is not None and share:
        elements.append(button("Share to channel", ASSESS_SHARE, pack(s=session.id), "primary"))
    if session is not None and pick_channel and not share:
        elements.append({"type": "conversations_select", "action_id": ASSESS_SHARE_TO,
                         "placeholder": {"type": "plain_text", "text": "Share to a channel…"},
                         "filter": {"include": ["public", "private"], "exclude_bot_users": True}})
    elements.append(button("Start a new assessment", ASSESS_START, pack()))
    block_id = f"assess_result:{session.id}" if session is not None else "assess_result"
    tail.append({"type": "actions", "block_id": block_id, "elements": elements})
    return _fit(blocks, tail)


def result_text(framework, report: Mapping[str, Any]) -> str:
    title = report.get("title") or _approach_name(framework, report.get("recommendation", ""), long=True)
    return f"Recommendation: {escape(title)} (confidence {float(report.get('confidence', 0)):.0%})"


def share_blocks(framework, report: Mapping[str, Any], user: str,
                 titles: Mapping[str, str] | None = None) -> list[Block]:
    """The summary posted to a channel: the recommendation, the answers, tensions, next steps
    and the sources (no buttons: the channel only reads it)."""
    sources = _Sources(titles)
    title = report.get("title") or _approach_name(framework, report.get("recommendation", ""), long=True)
    blocks: list[Block] = [
        section(f"<@{user}> ran a GenAI approach assessment.\n*Recommendation: {escape(title)}* "
                f"(confidence {float(report.get('confidence', 0)):.0%})"),
    ]
    blocks.extend(sections("*Why*\n" + "\n".join(_rationale_lines(framework, report, sources))))
    if report.get("conflicts"):
        blocks.append(section("*Tensions*\n" + "\n".join(
            f"• {escape(c.split(':', 1)[0])}" for c in report["conflicts"])))
    for kind, label in (("pros", "Pros"), ("cons", "Cons")):
        part = (report.get("guidance") or {}).get(kind)
        if part and part.get("text"):
            ref = sources.ref(part["document"], part["section"])
            blocks.extend(sections(f"*{label}* {ref}\n" + truncate(to_mrkdwn(part["text"]), 1500)))
    policies = report.get("policies") or []
    if policies:
        blocks.append(section("*Policies to check*\n" + "\n".join(
            f"• {escape(p.get('title') or p['source'])} "
            f"{sources.ref(p['source'], p.get('section') or '', p.get('title') or '')}" for p in policies)))
    if report.get("next_steps"):
        blocks.extend(sections("*Next steps*\n" + "\n".join(f"• {escape(s)}" for s in report["next_steps"])))
    tail = sections("*Sources*\n" + "\n".join(sources.lines()))[:2]
    tail.append(context("Run your own with `/advisor assess`."))
    return _fit(blocks, tail)


def history_blocks(framework, sessions: Sequence[Any], open_session=None, total: int = 0,
                   *, limit: int = 10, start_button: bool = False) -> list[Block]:
    """A user's finished assessments, newest first (and the one in progress, if any)."""
    blocks: list[Block] = []
    if open_session is not None:
        blocks.extend(resume_blocks(open_session, total, f"In progress: question "
                                    f"{min(open_session.step + 1, total)} of {total}."))
    lines = []
    for session in list(sessions)[:limit]:
        result = session.result or {}
        when = (session.updated_at or "")[:16].replace("T", " ")
        answers = ", ".join(f"{escape(q)}={escape(v)}" for q, v in session.answers.items())
        lines.append(f"• {escape(when)} · *{escape(_approach_name(framework, result.get('recommendation', '?'), True))}* "
                     f"(confidence {float(result.get('confidence', 0)):.0%})" + (f"\n   _{answers}_" if answers else ""))
    if lines:
        blocks.extend(sections("*Your past assessments*\n" + "\n".join(lines)))
    elif open_session is None:
        blocks.append(context("No finished assessments yet."))
    if start_button:
        blocks.append({"type": "actions", "block_id": "assess_home", "elements": [
            button("Start an assessment", ASSESS_START, pack(), "primary")]})
    return blocks
