"""Block Kit for assessments: questions, confirmations, resume offers, results (with what would
change them), shares and history. Pure functions from the core's sessions and reports."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from .blocks import (
    ASSESS_ANSWER,
    ASSESS_BACK,
    ASSESS_RESTART,
    ASSESS_CANCEL,
    ASSESS_RESUME,
    ASSESS_START,
    ASSESS_CONFIRM_YES,
    ASSESS_CONFIRM_NO,
    ASSESS_SHARE,
    ASSESS_SHARE_TO,
    ASSESS_WHAT_IF,
    button,
    context,
    escape,
    section,
    sections,
    _fit,
    truncate,
    to_mrkdwn,
)

Block = dict[str, Any]


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
    blocks.append(
        {
            "type": "actions",
            "block_id": f"assess_options:{step}",
            "elements": [
                button(o.label, f"{ASSESS_ANSWER}_{n}", pack(s=session.id, q=question.id, n=step, v=o.value))
                for n, o in enumerate(question.options)
            ][:25],
        }
    )
    nav = pack(s=session.id, n=step)
    blocks.append(
        {
            "type": "actions",
            "block_id": f"assess_nav:{step}",
            "elements": [
                button("◀ Back", ASSESS_BACK, nav),
                button("Restart", ASSESS_RESTART, nav),
                button(
                    "Cancel",
                    ASSESS_CANCEL,
                    nav,
                    "danger",
                    confirm={
                        "title": {"type": "plain_text", "text": "Cancel the assessment?"},
                        "text": {"type": "plain_text", "text": "Your answers so far will be discarded."},
                        "confirm": {"type": "plain_text", "text": "Cancel it"},
                        "deny": {"type": "plain_text", "text": "Keep going"},
                    },
                ),
            ],
        }
    )
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
        {
            "type": "actions",
            "block_id": f"assess_confirm:{session.step}",
            "elements": [
                button("Yes", ASSESS_CONFIRM_YES, packed, "primary"),
                button("No", ASSESS_CONFIRM_NO, packed),
            ],
        },
    ]


def open_session_text(session, total: int) -> str:
    position = min(session.step + 1, total)
    return (
        f"You already have an assessment in progress (question {position} of {total}). "
        "Resume it where you left off, or restart it from the first question?"
    )


def resume_blocks(session, total: int, text: str | None = None) -> list[Block]:
    value = pack(s=session.id)
    return [
        section(escape(text or open_session_text(session, total))),
        {
            "type": "actions",
            "block_id": "assess_open",
            "elements": [
                button("Resume", ASSESS_RESUME, value, "primary"),
                button("Restart", ASSESS_RESTART, value),
                button("Cancel it", ASSESS_CANCEL, value, "danger"),
            ],
        },
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
        out.append(
            {
                "type": "actions",
                "block_id": f"assess_what_if:{session.id}",
                "elements": [
                    button(f"Try: {c['text']}", f"{ASSESS_WHAT_IF}_{n}", pack(s=session.id, q=c["question"], v=c["to"]))
                    for n, c in enumerate(changes[:5])
                ],
            }
        )
    return out


def result_blocks(
    framework,
    report: Mapping[str, Any],
    session=None,
    *,
    share: str | None = None,
    pick_channel: bool = False,
    titles: Mapping[str, str] | None = None,
    note: str = "",
) -> list[Block]:
    """An assessment result: the recommendation, why (per answer), the guidance's hard rules that
    applied, what would change it, the guidance on the approach (pros, cons, when to choose it), the
    policies that bear on the answers, next steps and the numbered sources; ``share`` adds the
    "Share to channel" button for that channel, and ``pick_channel`` a channel picker instead;
    ``titles`` names the cited documents; ``note`` heads it (a what-if copy says what changed)."""
    sources = _Sources(titles)
    title = report.get("title") or _approach_name(framework, report.get("recommendation", ""), long=True)
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(f"Recommendation: {title}", 150)}},
        context(
            f"Confidence *{float(report.get('confidence', 0)):.0%}* · scores: "
            f"{escape(_scores(framework, report.get('scores', {})))}"
        ),
    ]
    if note:
        blocks.insert(1, section(escape(note)))
    blocks.extend(sections("*Why: your answers*\n" + "\n".join(_rationale_lines(framework, report, sources))))
    if report.get("conflicts"):
        blocks.extend(
            sections("*Tensions in your answers*\n" + "\n".join(f":warning: {escape(c)}" for c in report["conflicts"]))
        )
    if report.get("rules"):
        blocks.extend(
            sections("*Rules from the guidance*\n" + "\n".join(f":no_entry: {escape(r)}" for r in report["rules"]))
        )
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
        elements.append(
            {
                "type": "conversations_select",
                "action_id": ASSESS_SHARE_TO,
                "placeholder": {"type": "plain_text", "text": "Share to a channel…"},
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            }
        )
    elements.append(button("Start a new assessment", ASSESS_START, pack()))
    block_id = f"assess_result:{session.id}" if session is not None else "assess_result"
    tail.append({"type": "actions", "block_id": block_id, "elements": elements})
    return _fit(blocks, tail)


def result_text(framework, report: Mapping[str, Any]) -> str:
    title = report.get("title") or _approach_name(framework, report.get("recommendation", ""), long=True)
    return f"Recommendation: {escape(title)} (confidence {float(report.get('confidence', 0)):.0%})"


def share_blocks(
    framework, report: Mapping[str, Any], user: str, titles: Mapping[str, str] | None = None
) -> list[Block]:
    """The summary posted to a channel: the recommendation, the answers, tensions, next steps
    and the sources (no buttons: the channel only reads it)."""
    sources = _Sources(titles)
    title = report.get("title") or _approach_name(framework, report.get("recommendation", ""), long=True)
    blocks: list[Block] = [
        section(
            f"<@{user}> ran a GenAI approach assessment.\n*Recommendation: {escape(title)}* "
            f"(confidence {float(report.get('confidence', 0)):.0%})"
        ),
    ]
    blocks.extend(sections("*Why*\n" + "\n".join(_rationale_lines(framework, report, sources))))
    if report.get("conflicts"):
        blocks.append(
            section("*Tensions*\n" + "\n".join(f"• {escape(c.split(':', 1)[0])}" for c in report["conflicts"]))
        )
    for kind, label in (("pros", "Pros"), ("cons", "Cons")):
        part = (report.get("guidance") or {}).get(kind)
        if part and part.get("text"):
            ref = sources.ref(part["document"], part["section"])
            blocks.extend(sections(f"*{label}* {ref}\n" + truncate(to_mrkdwn(part["text"]), 1500)))
    policies = report.get("policies") or []
    if policies:
        blocks.append(
            section(
                "*Policies to check*\n"
                + "\n".join(
                    f"• {escape(p.get('title') or p['source'])} "
                    f"{sources.ref(p['source'], p.get('section') or '', p.get('title') or '')}"
                    for p in policies
                )
            )
        )
    if report.get("next_steps"):
        blocks.extend(sections("*Next steps*\n" + "\n".join(f"• {escape(s)}" for s in report["next_steps"])))
    tail = sections("*Sources*\n" + "\n".join(sources.lines()))[:2]
    tail.append(context("Run your own with `/advisor assess`."))
    return _fit(blocks, tail)


def history_blocks(
    framework,
    sessions: Sequence[Any],
    open_session=None,
    total: int = 0,
    *,
    limit: int = 10,
    start_button: bool = False,
) -> list[Block]:
    """A user's finished assessments, newest first (and the one in progress, if any)."""
    blocks: list[Block] = []
    if open_session is not None:
        blocks.extend(
            resume_blocks(open_session, total, f"In progress: question {min(open_session.step + 1, total)} of {total}.")
        )
    lines = []
    for session in list(sessions)[:limit]:
        result = session.result or {}
        when = (session.updated_at or "")[:16].replace("T", " ")
        answers = ", ".join(f"{escape(q)}={escape(v)}" for q, v in session.answers.items())
        lines.append(
            f"• {escape(when)} · *{escape(_approach_name(framework, result.get('recommendation', '?'), True))}* "
            f"(confidence {float(result.get('confidence', 0)):.0%})" + (f"\n   _{answers}_" if answers else "")
        )
    if lines:
        blocks.extend(sections("*Your past assessments*\n" + "\n".join(lines)))
    elif open_session is None:
        blocks.append(context("No finished assessments yet."))
    if start_button:
        blocks.append(
            {
                "type": "actions",
                "block_id": "assess_home",
                "elements": [button("Start an assessment", ASSESS_START, pack(), "primary")],
            }
        )
    return blocks
