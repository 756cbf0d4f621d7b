"""SQLite connections shared by the index and the bot's store."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils


def connect(path: Path | str) -> sqlite_utils.Database:
    """WAL (readers never wait for the writer); usable from the thread that asks for it."""
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return sqlite_utils.Database(conn)


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """BEGIN IMMEDIATE: take the write lock up front, waiting for it (busy timeout).

    A deferred transaction that reads first and writes later fails at once with
    "database is locked" when another writer got there in between; taking the lock at BEGIN
    turns that into a short wait."""
    conn = db.conn
    if conn.in_transaction:  # nested: part of the enclosing transaction
        yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
