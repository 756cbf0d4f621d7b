"""Prometheus metrics of one AdvisorService, served at GET /metrics by the Slack shells.

Each service owns its registry rather than using prometheus_client's global one: a process can
hold several services (tests, `advisor eval`'s per-corpus services), and registering the same
metric name twice in one registry is an error. Counters are per process; an `advisor ingest` run
in another process shows up in that process only (its runs are in `advisor status`).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import ProcessCollector

# Extractive answers take tens of milliseconds, a model's answer seconds; a timeout ends at 60 s.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # memory, CPU and open files, for capacity planning
        self.answers = Counter(
            "advisor_answers",
            "Questions answered (abstentions have route and backend 'none')",
            ["route", "backend"],
            registry=registry,
        )
        self.abstentions = Counter(
            "advisor_abstentions", "Questions the bot declined to answer, by why", ["reason"], registry=registry
        )
        self.fallbacks = Counter(
            "advisor_fallbacks", "Answers moved off their routed backend", ["backend", "cause"], registry=registry
        )
        self.answer_latency = Histogram(
            "advisor_answer_latency_seconds",
            "Time to answer a question, retrieval to final text",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.feedback = Counter("advisor_feedback_votes", "Feedback votes on answers", ["vote"], registry=registry)
        self.ingest_runs = Counter(
            "advisor_ingest_runs", "Ingest runs started by this process, by outcome", ["outcome"], registry=registry
        )
        self.ingest_failed_documents = Counter(
            "advisor_ingest_failed_documents", "Documents an ingest run could not load", registry=registry
        )
        self.slack_retries_deduped = Counter(
            "advisor_slack_retries_deduped", "Slack event deliveries dropped as already handled", registry=registry
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
