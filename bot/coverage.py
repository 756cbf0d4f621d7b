"""Does the knowledge cover the question? Signals beyond one cosine cut-off.

Real questions that no document answers are rarely off-topic: they ask about the asker's own
people, systems, schedules and prices ("who is our account rep?", "does the Dublin office have
its own GPU cluster?") and retrieve loosely related text with a similarity as high as that of an
answerable question. Two signals catch most of them without a model:

* **Unknown names.** The question names something (a capitalised name, a product, a code such as
  ``A100``) that appears nowhere in the index. The documents cannot be about it, unless the rest
  of the question matches very closely.
* **Asks for a specific detail.** The question asks for a named person, a channel, a code, a
  price or a count. Documents rarely hold such an internal detail, so it is answered only when
  the retrieved text is a close match.

Each threshold is a cosine similarity chosen on the dev split of tests/eval/questions.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

UNKNOWN_NAME_RELEVANCE = 0.40  # below this, a question naming an unknown thing is not covered
SPECIFIC_DETAIL_RELEVANCE = 0.60  # below this, a question asking for a specific detail is not covered

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9+]*")
_SPECIFIC = re.compile(
    r"\b(name of|named|who'?s (our|the)|who (is|are) (our|the)|exact|(code|number|id) (for|of|i|we)|"
    r"room number|account (rep|manager)|per-\w+ (price|cost)|price|how many|point person|on-call|"
    r"slack channel|channel (for|where)|email address|their email|booking link|wiki page)\b",
    re.IGNORECASE,
)
_COMMON = frozenset("I I'm I've I'd OK AI API APIs US EU UK FAQ PDF URL".split())


@dataclass(frozen=True)
class Gap:
    """Why the knowledge does not cover a question, in words for the user."""

    reason: str  # for the audit log and the route line
    message: str  # the sentence the user reads


def _name_like(word: str, first: bool) -> bool:
    if word.isdigit() or word in _COMMON:
        return False
    has_mixed_digit = bool(re.search(r"[A-Za-z]\d|\d[A-Za-z]", word))
    capitalised = word[0].isupper() and not first
    return capitalised or has_mixed_digit or (word.isupper() and len(word) > 1)


def unknown_names(question: str, document_frequency: Callable[[str], int]) -> list[str]:
    """Name-like words of the question that no indexed chunk contains (plurals of known
    words are known: "LLMs" when "LLM" is indexed)."""
    names: list[str] = []
    for n, word in enumerate(_TOKEN.findall(question)):
        if not _name_like(word, n == 0) or word in names:
            continue
        if document_frequency(word) > 0:
            continue
        if word.lower().endswith("s") and len(word) > 3 and document_frequency(word[:-1]) > 0:
            continue
        names.append(word)
    return names


def find_gap(question: str, best_similarity: float, document_frequency: Callable[[str], int]) -> Gap | None:
    """A Gap when the question is most likely not covered by the knowledge, else None."""
    if best_similarity < UNKNOWN_NAME_RELEVANCE:
        names = unknown_names(question, document_frequency)
        if names:
            listed = ", ".join(f"“{n}”" for n in names[:3])
            return Gap(
                f"no document mentions {', '.join(names[:3])}",
                f"None of the documents I have mention {listed}, so I can't answer that from them.",
            )
    if best_similarity < SPECIFIC_DETAIL_RELEVANCE:
        asked = _SPECIFIC.search(question)
        if asked:
            return Gap(
                f"asks for a specific detail ({asked.group(0).lower()}) no document states closely",
                "The documents I have don't state that specific detail.",
            )
    return None
