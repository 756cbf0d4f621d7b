"""Who is asking and who will read the answer, from the Slack Web API, cached with a TTL.

``users.info`` tells a full member from a guest (``is_restricted``, ``is_ultra_restricted``) or
someone from another organisation (``is_stranger``); ``conversations.info`` whether a channel
is shared with another organisation; ``users.list`` and ``conversations.members`` whether a
channel has guests in it; ``usergroups.users.list`` who is in the user groups that documents
name. Every lookup that fails counts as the restrictive answer: a Slack outage withholds
restricted documents, it never shows them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ..access import Viewer

log = logging.getLogger(__name__)

TTL_SECONDS = 300.0
# The workspace's guest list pages through every user: refreshed less often than the rest.
GUESTS_TTL_SECONDS = 3600.0
MAX_CHANNEL_MEMBERS = 5000  # beyond this a channel is not enumerated; it counts as having guests


class _Cache:
    def __init__(self, ttl: float, clock: Callable[[], float]):
        self.ttl, self.clock = ttl, clock
        self.items: dict[str, tuple[float, object]] = {}
        self.lock = threading.Lock()

    def get(self, key: str, load: Callable[[], object], ttl: float | None = None):
        now = self.clock()
        with self.lock:
            hit = self.items.get(key)
            if hit and now - hit[0] < (self.ttl if ttl is None else ttl):
                return hit[1]
        value = load()
        if value is not None:  # a failed lookup that has no safe default is tried again next time
            with self.lock:
                self.items[key] = (now, value)
        return value


class AudienceResolver:
    def __init__(
        self, groups: Callable[[], set[str]], *, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ):
        """``groups()``: the user groups that documents restrict to (only those are looked up)."""
        self.groups = groups
        self.cache = _Cache(ttl, clock)

    def viewer(self, client: WebClient, user: str, channel: str = "", *, private: bool) -> Viewer:
        """``private``: only the asker reads the answer (a DM, an ephemeral reply)."""
        member = self._is_member(client, user)
        groups = (
            frozenset(g for g in self.groups() if user in self._group_members(client, g)) if member else frozenset()
        )
        if private or not channel or channel.startswith("D"):
            return Viewer(user=user, member=member, groups=groups, channel=channel, private=True)
        shared = self._shared_externally(client, channel)
        guests = shared or self._has_guests(client, channel)
        return Viewer(
            user=user,
            member=member,
            groups=groups,
            channel=channel,
            private=False,
            shared_externally=shared,
            has_guests=guests,
        )

    # --- lookups -------------------------------------------------------------------------------

    def _call(self, what: str, fn, default):
        try:
            return fn()
        except (SlackApiError, OSError, ValueError, KeyError) as exc:
            log.warning("Slack lookup %s failed, treating it as restricted: %s", what, exc)
            return default

    def _is_member(self, client: WebClient, user: str) -> bool:
        def load() -> bool:
            info = client.users_info(user=user)["user"]
            return not (
                info.get("is_restricted")
                or info.get("is_ultra_restricted")
                or info.get("is_stranger")
                or info.get("deleted")
            )

        return bool(user) and self.cache.get(f"user:{user}", lambda: self._call(f"users.info {user}", load, False))

    def _shared_externally(self, client: WebClient, channel: str) -> bool:
        def load() -> bool:
            info = client.conversations_info(channel=channel)["channel"]
            if info.get("is_im"):
                return False
            return bool(info.get("is_ext_shared") or info.get("is_shared") or info.get("is_pending_ext_shared"))

        return self.cache.get(f"shared:{channel}", lambda: self._call(f"conversations.info {channel}", load, True))

    def _guests(self, client: WebClient) -> frozenset[str]:
        def load() -> frozenset[str]:
            guests: set[str] = set()
            cursor = None
            while True:
                page = client.users_list(limit=200, cursor=cursor)
                for info in page.get("members") or []:
                    if info.get("is_restricted") or info.get("is_ultra_restricted") or info.get("is_stranger"):
                        guests.add(info["id"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return frozenset(guests)

        return self.cache.get("guests", lambda: self._call("users.list", load, None), ttl=GUESTS_TTL_SECONDS)

    def _has_guests(self, client: WebClient, channel: str) -> bool:
        def load() -> bool:
            guests = self._guests(client)
            if guests is None:
                return True
            members: set[str] = set()
            cursor = None
            while True:
                page = client.conversations_members(channel=channel, limit=1000, cursor=cursor)
                members.update(page.get("members") or [])
                if len(members) > MAX_CHANNEL_MEMBERS:
                    return True
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return bool(members & guests)

        return self.cache.get(f"guests:{channel}", lambda: self._call(f"conversations.members {channel}", load, True))

    def _group_members(self, client: WebClient, group: str) -> frozenset[str]:
        def load() -> frozenset[str]:
            return frozenset(client.usergroups_users_list(usergroup=group).get("users") or [])

        return self.cache.get(f"group:{group}", lambda: self._call(f"usergroups.users.list {group}", load, frozenset()))
