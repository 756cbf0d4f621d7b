"""Who may see what: a document's audience against the asker and the place the answer goes.

A document's front matter may set ``audience``:

* ``everyone`` — the default for public and internal documents;
* ``members`` — the default for confidential ones: full members of the workspace only (never
  guests, never people from another organisation), and never in a channel shared with
  another organisation or one that has guests in it;
* ``{groups: [S…], channels: [C…]}`` — members of one of those Slack user groups, or answers
  posted in one of those channels (and the ``members`` rules besides).

An answer posted in a channel is read by everyone in it, so the place counts as much as the
asker. Nothing restricted is ever quoted where it is withheld: the answer only says that some
documents are restricted here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

EVERYONE = "everyone"
MEMBERS = "members"


@dataclass(frozen=True)
class Audience:
    scope: str = EVERYONE  # everyone | members | restricted
    groups: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, stored: str | None) -> "Audience":
        """The chunk column's value ("everyone", "members" or a JSON object)."""
        if not stored or stored == EVERYONE:
            return cls()
        if stored == MEMBERS:
            return cls(MEMBERS)
        try:
            data = json.loads(stored)
        except ValueError:
            return cls(MEMBERS)  # unreadable: the safe reading
        return cls("restricted", frozenset(data.get("groups") or ()), frozenset(data.get("channels") or ()))


@dataclass(frozen=True)
class Viewer:
    """Who asks and where the answer will be read."""

    user: str = ""
    local: bool = False  # the CLI's own user: sees everything
    member: bool = False  # a full member (not a guest, not from another organisation)
    groups: frozenset[str] = frozenset()
    channel: str = ""
    private: bool = True  # only the asker reads the answer (a DM, an ephemeral reply, the App Home)
    shared_externally: bool = False  # the channel is shared with another organisation
    has_guests: bool = False  # the channel has guests or people from another organisation
    why: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def everything(cls) -> "Viewer":
        return cls(local=True)

    def may_see(self, audience: Audience) -> bool:
        if self.local or audience.scope == EVERYONE:
            return True
        if not self.member:
            return False
        if not self.private and (self.shared_externally or self.has_guests):
            return False
        if audience.scope == MEMBERS:
            return True
        return bool(audience.groups & self.groups) or (bool(self.channel) and self.channel in audience.channels)

    def allows(self, chunk: dict) -> bool:
        stored = chunk.get("audience") or (MEMBERS if chunk.get("classification") == "confidential" else EVERYONE)
        return self.may_see(Audience.parse(stored))


def withheld_note(viewer: Viewer) -> str:
    if viewer.member and not viewer.private:
        return (
            "Some documents are restricted and can't be used in this channel; ask me in a direct "
            "message for a complete answer."
        )
    return "Some documents are restricted, so they were not used for this answer."
