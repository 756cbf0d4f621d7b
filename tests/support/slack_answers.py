"""Reading the bot's answers back from what the mock Slack received."""

from __future__ import annotations

from bot.slack import blocks as rendering


def answer_id(message_blocks: list[dict]) -> str | None:
    """The answer id the message's feedback footer carries, or None (not an answer)."""
    for block in message_blocks or []:
        for element in block.get("elements") or []:
            if element.get("type") == "feedback_buttons":
                vote = rendering.parse_feedback(element["positive_button"]["value"])
                return vote[0] if vote else None
    return None


def text_of(message: dict) -> str:
    """Everything a person reads in a message: its streamed or fallback text and its blocks."""
    parts = [message.get("text") or ""]
    for block in message.get("blocks") or []:
        if block["type"] == "markdown":
            parts.append(block["text"])
        elif block["type"] == "section":
            parts.append(block["text"]["text"])
        elif block["type"] == "context":
            parts.extend(e.get("text", "") for e in block["elements"])
    return "\n".join(parts)


def is_answer(message: dict) -> bool:
    return answer_id(message.get("blocks") or []) is not None
