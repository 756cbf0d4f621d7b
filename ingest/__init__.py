"""Build and maintain the knowledge index. Never imports ``bot``: callers pass explicit arguments."""

from .index import KnowledgeIndex
from .pipeline import IngestBusy, IngestLock, IngestReport, IngestRunError, SyncOptions, sync

__all__ = [
    "IngestBusy",
    "IngestLock",
    "IngestReport",
    "IngestRunError",
    "KnowledgeIndex",
    "SyncOptions",
    "sync",
]
