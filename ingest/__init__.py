"""Build and maintain the knowledge index. Never imports ``bot``: callers pass explicit arguments."""
from .index import KnowledgeIndex
from .pipeline import IngestBusy, IngestLock, IngestReport, IngestRunError, remove_documents, sync

__all__ = [
    "IngestBusy", "IngestLock", "IngestReport", "IngestRunError", "KnowledgeIndex",
    "remove_documents", "sync",
]
