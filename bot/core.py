"""The core service: every shell (CLI, Slack) calls these methods and only renders results."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

from ingest import IngestReport, KnowledgeIndex, SyncOptions, sync
from ingest.embeddings import Embedder, model_label
from ingest.pipeline import IngestBusy, IngestLock, Progress

from .answer import (
    NOT_COVERED,
    REWRITE_PROMPT,
    Answer,
    build_messages,
    clean_citations,
    condense_messages,
    extractive_answer,
    follow_up_query,
    parse_ranking,
    renumber,
    rerank_messages,
    source_entry,
)
from .access import Audience, Viewer, withheld_note
from .coverage import Gap, find_gap
from .llm.backends import BackendError, StreamInterrupted
from .llm.redaction import redact, strip_sensitive
from .llm.routing import Route, Router
from .retrieval import Mode, Retrieval, Retriever
from .assessment import (
    AssessmentError,
    AssessmentSessions,
    Conversation,
    FrameworkProvider,
    Interpretation,
    Interpreter,
    Question,
    Session,
    Turn,
    assess,
    validate_answer,
)
from .assessment.interpret import check_reply, cross_check, model_messages, parse_model_choice
from .assessment.report import build_report
from .metrics import Metrics
from .settings import Settings
from .store import Store, new_id

log = logging.getLogger(__name__)

# Knowledge-folder files that are configuration, not documents to index.
NON_DOCUMENTS = ("assessment.yaml", "README.md")


class AdvisorService:
    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        index: KnowledgeIndex | None = None,
        store: Store | None = None,
        router: Router | None = None,
    ):
        """Collaborators not given are built from ``settings`` on first use; tests, benchmarks and
        per-corpus services pass shared ones (one embedding model loaded once per process)."""
        self.settings = settings
        self._index = index
        self._embedder = embedder
        self._lock = threading.RLock()  # properties build on each other
        self._router = router
        self._store = store
        # CPU-bound answer work (embedding, search, composition) runs a few at a time: a burst of
        # fifty questions on fifty threads would starve the threads that acknowledge Slack
        # requests of the GIL. Waiting on a model or on Slack is not limited.
        self._compute = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))
        self._frameworks: FrameworkProvider | None = None
        self._sessions: AssessmentSessions | None = None
        self.metrics = Metrics()

    # --- shared resources, loaded once and only when needed ----------------------------------

    def _once(self, attr: str, build: Callable[[], object]):
        """The shared resource in ``attr``, built on first use by exactly one thread."""
        value = getattr(self, attr, None)
        if value is None:
            with self._lock:
                value = getattr(self, attr, None)
                if value is None:
                    value = build()
                    setattr(self, attr, value)
        return value

    @property
    def index(self) -> KnowledgeIndex:
        return self._once("_index", lambda: KnowledgeIndex(self.settings.home, self.settings.chroma_url or None))

    @property
    def embedder(self) -> Embedder:
        return self._once(
            "_embedder",
            lambda: Embedder(self.settings.embedding_model or None, backend=self.settings.embedding_backend),
        )

    @property
    def router(self) -> Router:
        return self._once("_router", lambda: Router(self.settings))

    @property
    def store(self) -> Store:
        return self._once("_store", lambda: Store(self.settings.bot_db_path))

    @property
    def retriever(self) -> Retriever:
        return Retriever(self.index, self.embedder)

    def check_backends(self) -> None:
        """Build the model backends now: a bad ADVISOR_LLM* raises BackendConfigError here."""
        _ = self.router

    def warm_up(self) -> None:
        """Load the model, index and backends once at start (the Slack bot does this)."""
        _ = self.router, self.store
        self.store.prune_events()
        self.embedder.embed_query("warm up")
        self.index.counts()

    # --- answers ------------------------------------------------------------------------------

    def retrieve(
        self, question: str, k: int | None = None, mode: Mode = "hybrid", viewer: Viewer | None = None
    ) -> Retrieval:
        allow = None if viewer is None or viewer.local else viewer.allows
        with self._compute:
            return self.retriever.search(question, k or self.settings.top_k, mode, allow)

    def ask(
        self,
        question: str,
        *,
        conversation: str | None = None,
        user: str | None = None,
        channel: str | None = None,
        top_k: int | None = None,
        on_text: Callable[[str], None] | None = None,
        mode: Mode = "hybrid",
        record: bool = True,
        viewer: Viewer | None = None,
    ) -> Answer:
        """Answer from the knowledge with citations, or abstain. Never raises for backend
        failures: they fall back (ADVISOR_LLM_FALLBACK) and are recorded on the answer."""
        started = time.perf_counter()
        question = (question or "").strip()
        if not question:
            raise ValueError("the question is empty")
        history = self.store.history(conversation) if conversation else []
        standalone = self._standalone(question, history)
        # Secrets and addresses carry no meaning for search and only dilute the query.
        query = strip_sensitive(standalone) or standalone
        if self.settings.query_rewrite:
            query = self._rewrite(question, query)
        k = top_k or self.settings.top_k
        retrieval = self.retrieve(query, k * 2 if self.settings.rerank else k, mode, viewer)
        if self.settings.rerank:
            retrieval.hits = self._rerank(question, standalone, retrieval.hits)[:k]
        hits = retrieval.hits
        gap = None
        if retrieval.best_similarity < self.settings.min_relevance:
            gap = Gap("nothing relevant enough was found", NOT_COVERED)
        elif self.settings.coverage_checks:
            gap = find_gap(standalone, retrieval.best_similarity, self.index.document_frequency)
        if gap is not None:
            answer = self._abstain(question, retrieval, gap)
        else:
            route = self.router.route([question, *(t["text"] for t in history if t["role"] == "user")], hits)
            answer = self._compose(question, standalone, history, retrieval, route, on_text)
        answer.standalone_question = standalone if standalone != question else None
        answer.retrieved = [h.chunk for h in hits]
        self._link_sources(answer.sources)
        if retrieval.withheld:
            # Never what they say: only that something was left out, and where to ask instead.
            answer.withheld = retrieval.withheld
            answer.text = f"{answer.text}\n\n_{withheld_note(viewer)}_"
        answer.latency_ms = (time.perf_counter() - started) * 1000
        self.metrics.answer_latency.observe(answer.latency_ms / 1000)
        self.metrics.answers.labels(route=answer.route, backend=answer.backend).inc()
        if gap is not None:
            # A fixed label: the gap's own reason quotes the question.
            low = retrieval.best_similarity < self.settings.min_relevance
            self.metrics.abstentions.labels(reason="low_relevance" if low else "coverage").inc()
        if record:
            answer.id = self._audit(answer, user, channel, conversation)
            log.info(
                "answer id %s: %s via %s in %.0f ms%s",
                answer.id,
                "abstained" if answer.abstained else "answered",
                answer.backend,
                answer.latency_ms,
                f" ({answer.error})" if answer.error else "",
                extra={"answer_id": answer.id},
            )
        if conversation and record:
            self.store.add_message(conversation, "user", question)
            self.store.add_message(conversation, "assistant", answer.text, answer.id)
        return answer

    def _link_sources(self, sources: list[dict]) -> None:
        """Each source's ``url`` (front matter), so shells can make citations clickable."""
        for source in sources:
            row = self.index.document(source["source"]) or {}
            source["url"] = row.get("url") or ""

    def record_feedback(self, answer_id: str, user: str, helpful: bool) -> bool:
        vote = "helpful" if helpful else "not_helpful"
        recorded = self.store.record_feedback(answer_id, user, vote)
        if recorded:
            self.metrics.feedback.labels(vote=vote).inc()
        return recorded

    def record_feedback_reason(self, answer_id: str, user: str, reason: str) -> bool:
        return self.store.record_feedback_reason(answer_id, user, reason)

    def has_answered_in(self, conversation: str) -> bool:
        """Whether the bot has taken part in this conversation (a Slack thread it answered)."""
        return self.store.has_conversation(conversation)

    def _standalone(self, question: str, history: list[dict]) -> str:
        previous = [t["text"] for t in history if t["role"] == "user"]
        if not previous:
            return question
        route = self.router.route([question, *previous], [])
        if route.backend is not None:
            messages = condense_messages(question, history)
            if route.redact:
                messages = [(role, redact(text)[0]) for role, text in messages]
            try:
                condensed = route.backend.invoke(messages).text.strip()
                if 3 < len(condensed) < 500:
                    return condensed
            except BackendError as exc:
                log.warning("condensing the follow-up failed, using the conversation as is: %s", exc)
        return follow_up_query(question, previous[-1])

    def _rewrite(self, question: str, query: str) -> str:
        """The question in a policy's words, from the model its own routing allows (a sensitive
        question never goes to a PaaS for this); the original stays in the query."""
        route = self.router.route([question], [])
        if route.backend is None:
            return query
        messages = [("system", REWRITE_PROMPT), ("user", query)]
        if route.redact:
            messages = [(role, redact(text)[0]) for role, text in messages]
        try:
            rewritten = route.backend.invoke(messages).text.strip().splitlines()[0].strip(" \"'")
        except (BackendError, IndexError) as exc:
            log.warning("query rewriting failed, searching with the question as asked: %s", exc)
            return query
        return f"{query} {rewritten}" if 3 < len(rewritten) < 300 else query

    def _rerank(self, question: str, standalone: str, hits: list) -> list:
        """The candidates reordered by the model the routing allows for them; a PaaS model sees
        only the non-confidential ones, which keep the places they had among themselves."""
        route = self.router.route([question], hits)
        if route.backend is None or not hits:
            return hits
        movable = hits if route.hits is None else route.hits
        if len(movable) < 2:
            return hits
        messages = rerank_messages(standalone, movable)
        if route.redact:
            messages = [(role, redact(text)[0]) for role, text in messages]
        try:
            order = parse_ranking(route.backend.invoke(messages).text, len(movable))
        except BackendError as exc:
            log.warning("reranking failed, keeping the retrieval order: %s", exc)
            return hits
        ranked = [movable[n - 1] for n in order] + [h for n, h in enumerate(movable, 1) if n not in order]
        slots = iter(ranked)
        moving = {h.id for h in movable}
        return [next(slots) if h.id in moving else h for h in hits]

    def _abstain(self, question: str, retrieval: Retrieval, gap: Gap) -> Answer:
        closest = list(dict.fromkeys(h.chunk["title"] for h in retrieval.hits))[:3]
        text = gap.message
        if closest:
            text += " The closest documents are: " + "; ".join(closest) + "."
        return Answer(
            question,
            text,
            True,
            "none",
            "none",
            gap.reason,
            [source_entry(n, h) for n, h in enumerate(retrieval.hits[:3], 1)],
        )

    def _compose(self, question, standalone, history, retrieval: Retrieval, route: Route, on_text) -> Answer:
        error = None
        sent: list[dict] = []
        while route.backend is not None:
            hits = retrieval.hits if route.hits is None else route.hits
            if not hits:  # everything retrieved is confidential: nothing may go to this model
                self.metrics.fallbacks.labels(backend=route.name, cause="nothing_sendable").inc()
                route = self.router.fallback(route, "no source may be sent to it")
                continue
            messages = build_messages(standalone, hits, history)
            sent.append({"backend": route.name, "kind": route.kind, "chunks": [h.id for h in hits]})
            if route.redact:
                messages = [(role, redact(text)[0]) for role, text in messages]
            try:
                usage = None
                if on_text is not None and route.backend.can_stream:
                    text = ""
                    try:
                        for delta in route.backend.stream(messages):
                            text += delta
                            on_text(text)
                    except StreamInterrupted as exc:
                        # What arrived stays, with a visible note; nothing is re-asked.
                        error = str(exc)
                        log.warning("backend %s stopped mid-answer: %s", route.name, exc)
                        text += "\n\n_(The model stopped before finishing this answer.)_"
                else:
                    usage = route.backend.invoke(messages)
                    text = usage.text
                cleaned, cited = clean_citations(text, len(hits))
                if cleaned:
                    if cited:
                        cleaned = renumber(cleaned, cited)
                        sources = [source_entry(n, hits[old - 1]) for n, old in enumerate(cited, 1)]
                    else:
                        sources = [source_entry(n, h) for n, h in enumerate(hits, 1)]
                    answer = Answer(
                        question, cleaned, False, route.name, route.kind, route.reason, sources, error=error, sent=sent
                    )
                    if usage is not None:
                        answer.prompt_tokens, answer.completion_tokens = usage.prompt_tokens, usage.completion_tokens
                    return answer
                raise BackendError("the model returned an empty answer")
            except BackendError as exc:
                error = str(exc)
                log.warning("backend %s failed: %s", route.name, exc)
                self.metrics.fallbacks.labels(backend=route.name, cause="backend_error").inc()
                route = self.router.fallback(route, error)
        hits = retrieval.hits
        with self._compute:
            sentences = self.index.units_of([h.id for h in hits[:5]]) if retrieval.query_vector else {}
            text, cited = clean_citations(
                extractive_answer(standalone, hits, retrieval.query_vector, sentences), len(hits)
            )
        text = renumber(text, cited)
        sources = [source_entry(n, hits[old - 1]) for n, old in enumerate(cited, 1)]
        return Answer(question, text, False, "extractive", route.kind, route.reason, sources, error=error, sent=sent)

    def _audit(self, answer: Answer, user, channel, conversation) -> str:
        return self.store.log_answer(
            {
                "id": new_id(),
                "user": user,
                "channel": channel,
                "conversation": conversation,
                "question": answer.question,
                "backend": answer.backend,
                "route": answer.route,
                "route_reason": answer.route_reason,
                "abstained": int(answer.abstained),
                "source_ids": [s["source"] + "#" + s["section"] for s in answer.sources],
                "latency_ms": answer.latency_ms,
                "error": answer.error,
                "answer": answer.text,
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": answer.completion_tokens,
                "sent": json.dumps(answer.sent),
                "withheld": answer.withheld,
            },
            hash_questions=self.settings.audit_questions == "hash",
        )

    @property
    def admin(self):
        from .admin import KnowledgeAdmin

        return self._once("_admin", lambda: KnowledgeAdmin(self))

    # --- assessment ---------------------------------------------------------------------------

    @property
    def frameworks(self) -> FrameworkProvider:
        return self._once("_frameworks", lambda: FrameworkProvider(self.settings.framework_path))

    @property
    def sessions(self) -> AssessmentSessions:
        # Its own connection: sessions serialise writes on it with their own lock.
        return self._once("_sessions", lambda: AssessmentSessions(self.store.connect(), self.frameworks))

    # What the shells (Slack, CLI) call for an assessment; they never reach the sessions or store.

    def framework(self):
        """The assessment framework in use (hot-reloaded from the knowledge folder)."""
        return self.frameworks.get()

    def assessment(self, session_id: str) -> Session | None:
        return self.sessions.get(session_id)

    def open_assessment(self, user: str) -> Session | None:
        return self.sessions.open_for(user)

    def assessment_question(self, session: Session) -> Question | None:
        return self.sessions.current_question(session)

    def assessment_history(self, user: str, limit: int = 10) -> list[Session]:
        return self.sessions.history(user, limit)

    def assessment_export(self) -> list[dict]:
        return self.sessions.export_all()

    def start_assessment(self, user: str, channel: str | None = None, thread_ts: str | None = None) -> Session:
        return self.sessions.start(user, channel, thread_ts)

    def assessment_answer(
        self, session_id: str, user: str, question_id: str, value: str, how: str, expected_step: int | None = None
    ) -> Session:
        return self.sessions.answer(session_id, user, question_id, value, how, expected_step=expected_step)

    def restart_assessment(self, session_id: str, user: str) -> Session:
        return self.sessions.restart(session_id, user)

    def cancel_assessment(self, session_id: str, user: str) -> Session:
        return self.sessions.cancel(session_id, user)

    def what_if_of(self, session_id: str) -> dict[str, str] | None:
        """The answer a what-if copy changed, or None for an original."""
        return self.sessions.what_if_of(session_id)

    def assessment_origin(self, session_id: str) -> str | None:
        return self.store.assessment_origin(session_id)

    def set_assessment_origin(self, session_id: str, origin: str) -> None:
        self.store.set_assessment_origin(session_id, origin)

    def document(self, source: str) -> dict | None:
        """The index's row for a document (title, url…), or None."""
        return self.index.document(source)

    def assess(self, answers: dict[str, str]) -> dict:
        """Non-interactive assessment; raises InvalidAnswer naming the valid ids/values."""
        framework = self.frameworks.get()
        for qid, value in answers.items():
            validate_answer(framework, qid, value)
        return self.assessment_report(answers)

    def assessment_report(self, answers: dict[str, str], viewer: Viewer | None = None) -> dict:
        """The report; ``viewer`` limits the policies it lists to those the reader may see."""
        framework = self.frameworks.get()
        result = assess(framework, answers)
        allow = None if viewer is None or viewer.local else viewer.allows
        return build_report(framework, result, answers, self.index, self.retriever, allow=allow)

    def thread_assessment(self, channel: str | None, thread_ts: str | None) -> Session | None:
        """The latest assessment (any user, any status) held in a chat thread, or None."""
        if not channel or not thread_ts:
            return None
        _ = self.sessions  # the table exists once the sessions are set up
        row = self.store.db.execute(
            "SELECT id FROM assessment_sessions WHERE channel = ? AND thread_ts = ?"
            " ORDER BY updated_at DESC, rowid DESC LIMIT 1",
            [channel, thread_ts],
        ).fetchone()
        return self.sessions.get(row[0]) if row else None

    def assessment_back(self, session_id: str, user: str, expected_step: int | None = None) -> Session:
        """Back one question; a Back button from an older copy of the question (or a second
        click of the same one) is refused with ``stale_step`` and changes nothing."""
        if expected_step is not None:
            session = self.sessions.get(session_id)
            if (
                session is not None
                and session.user == user
                and session.status == "open"
                and session.step != expected_step
            ):
                total = len(self.frameworks.get().questions)
                raise AssessmentError(
                    "stale_step",
                    f"That Back button is from an older copy of the question; we're on question "
                    f"{min(session.step + 1, total)} of {total} now, so nothing was changed.",
                    session,
                )
        return self.sessions.back(session_id, user)

    @property
    def interpreter(self) -> Interpreter:
        return self._once("_interpreter", lambda: Interpreter(self.embedder.embed))

    @property
    def conversation(self) -> Conversation:
        return self._once("_conversation", lambda: Conversation(self.sessions, self.interpret_reply))

    def is_option_reply(self, text: str) -> bool:
        """Whether a typed reply is, word for word, an answer to some assessment question (an
        option's value, label or synonym): tells a late answer from a new question."""
        return self.conversation.is_option_reply(text)

    def interpret_reply(self, question: Question | str, text: str) -> Interpretation:
        """What a typed reply means for a question: the offline reading and, with a model
        configured, the model's, cross-checked. Raises InvalidAnswer for an unknown question id
        and ReplyError for a reply that cannot be an answer (empty, too long, not text)."""
        if isinstance(question, str):
            framework = self.frameworks.get()
            try:
                question = framework.question(question)
            except KeyError:
                from .assessment import InvalidAnswer

                raise InvalidAnswer(question, None, framework.question_ids) from None
        text = check_reply(text)
        with self._compute:
            offline = self.interpreter.interpret(question, text)
        if offline.confidence >= 1.0:
            return offline  # a number or an option's own name: nothing for a model to add
        return cross_check(question, offline, self._model_choice(question, text))

    def _model_choice(self, question: Question, text: str) -> str | None:
        """The option a model picks, from the model the routing allows for this reply: a reply
        holding personal data or secrets never goes to a PaaS model, and what does is redacted."""
        route = self.router.route([text], [])
        if route.backend is None:
            return None
        messages = model_messages(question, text)
        if route.redact:
            messages = [(role, redact(content)[0]) for role, content in messages]
        try:
            return parse_model_choice(question, route.backend.invoke(messages).text)
        except BackendError as exc:
            log.warning(
                "classifying an assessment reply with %s failed, using the offline reading: %s", route.name, exc
            )
            return None

    def assessment_reply(
        self, session_id: str, user: str, text: str, *, how: str = "text", loose: bool = False
    ) -> Turn:
        """A typed reply in an assessment (Slack thread or terminal): see ``Conversation.reply``."""
        return self.conversation.reply(session_id, user, text, how=how, loose=loose)

    def assessment_reject(self, session_id: str, user: str, step: int) -> Session:
        """ "No, not that" to a "Did you mean …?"; refused when it is from an older question."""
        return self.sessions.reject_pending(session_id, user, step)

    def assessment_what_if(
        self, session_id: str, user: str, question_id: str, value: str, how: str = "button"
    ) -> Session:
        """A finished assessment re-run with one answer changed, stored as a new result; ``how``
        records where the change came from (a Slack button or the CLI)."""
        return self.sessions.what_if(session_id, user, question_id, value, how)

    # --- knowledge ---------------------------------------------------------------------------

    def ingest(
        self, paths: Sequence[Path | str] | None = None, *, full: bool = False, progress: Progress | None = None
    ) -> IngestReport:
        s = self.settings
        try:
            report = sync(
                s.knowledge_dir,
                s.home,
                SyncOptions(paths=paths, full=full, max_file_mb=s.max_file_mb, exclude=NON_DOCUMENTS),
                progress=progress,
                index=self.index,
                embedder=self.embedder,
            )
        except IngestBusy:
            self.metrics.ingest_runs.labels(outcome="busy").inc()
            raise
        except BaseException:
            self.metrics.ingest_runs.labels(outcome="failed").inc()
            raise
        self._after_ingest(report)
        self.metrics.ingest_runs.labels(outcome="ok").inc()
        self.metrics.ingest_failed_documents.inc(len(report.failed))
        return report

    def _after_ingest(self, report: IngestReport) -> None:
        """The keyword index follows ingest by itself (SQLite triggers); the assessment
        framework is knowledge too, so a re-ingest reloads it. A knowledge folder without one
        (a corpus of policies only) has no failed document for it."""
        if not self.settings.framework_path.exists():
            return
        error = self.frameworks.reload()
        if error is not None:
            report.failed.append(
                {
                    "path": self.settings.framework_path.name,
                    "error": (f"line {error.line}: " if error.line else "")
                    + error.reason
                    + " (the last valid framework stays in use)",
                }
            )

    def corpus_service(self, name: str, folder: Path) -> "AdvisorService":
        """A service with these settings over an index of ``folder`` alone (kept under
        ``ADVISOR_HOME/eval/NAME`` and synced incrementally), sharing this one's embedder."""
        settings = self.settings.model_copy(
            update={"home": self.settings.home / "eval" / name, "knowledge_dir": Path(folder)}
        )
        service = AdvisorService(settings, embedder=self.embedder)
        report = service.ingest()
        if report.failed:
            log.warning("%s: %d documents failed to ingest", name, len(report.failed))
        return service

    def audience_groups(self) -> set[str]:
        """The Slack user groups that some document's audience names."""
        groups: set[str] = set()
        for (stored,) in self.index.db.execute("select distinct audience from chunks where audience like '{%'"):
            groups |= Audience.parse(stored).groups
        return groups

    def ingest_runs(self, limit: int = 5) -> list[dict]:
        """The latest ingest runs, newest first."""
        return self.index.runs(limit)

    def counts(self) -> tuple[int, int]:
        """(documents, chunks) in the index."""
        return self.index.counts()

    def claim_event(self, event_id: str) -> bool:
        """True the first time a Slack event id is seen (across restarts): retries are dropped."""
        return self.store.claim_event(event_id)

    def readiness(self) -> dict[str, str]:
        """What keeps this service from answering now, by check ("index", "model"); empty when
        ready. Loads nothing: a probe must not start the work it checks for."""
        problems: dict[str, str] = {}
        try:
            self.index.counts()
            self.index.collection.count()  # with ADVISOR_CHROMA_URL, the server answers
        except Exception as exc:  # noqa: BLE001 -- any failure means not ready; the reason is shown
            problems["index"] = f"index not readable: {type(exc).__name__}: {exc}"[:300]
        if self._embedder is None or not self._embedder.loaded:
            problems["model"] = "embedding model not loaded"
        return problems

    def ingest_running(self) -> bool:
        return IngestLock.busy(self.settings.home)

    def status(self) -> dict:
        docs, chunks = self.index.counts()
        return status_fields(
            self.settings,
            documents=docs,
            chunks=chunks,
            last_run=self.index.last_run(),
            store=self.index.store_location,
            ingest_running=self.ingest_running(),
            framework=self._framework_status(),
        )

    def _framework_status(self) -> str:
        exists = self.settings.framework_path.exists()
        return framework_status(self.settings, self.frameworks.last_error if exists else None)


def status_fields(settings: Settings, **state) -> dict:
    """What ``advisor status`` shows; paths absolute, so it reads the same from any folder."""
    return {
        "documents": state.get("documents", 0),
        "chunks": state.get("chunks", 0),
        "last_run": state.get("last_run"),
        "embedding_model": model_label(settings.embedding_model or None),
        "store": state.get("store") or "-",
        "knowledge_dir": str(Path(settings.knowledge_dir).resolve()),
        "llm": settings.llm,
        "llm_local": settings.llm_local or None,
        "ingest_running": state.get("ingest_running", False),
        "framework": state.get("framework") or "-",
    }


def framework_status(settings: Settings, last_error=None) -> str:
    """The framework file in use, its absence, or the error that keeps its last valid version."""
    path = settings.framework_path
    if not path.exists():
        return f"none: no {path.name} in the knowledge folder (assessments are unavailable)"
    return f"{path.resolve()}" + (f" (the last valid version is in use: {last_error.reason})" if last_error else "")


def status_before_any_state(settings: Settings) -> dict | None:
    """The status of a home that does not exist yet, without creating it (a status check must
    not leave a ``.advisor`` folder behind in whatever folder it was run from); None when there
    is state to read (the home exists, or the index is a Chroma server)."""
    home = Path(settings.home)
    if home.exists() or settings.chroma_url:
        return None
    return status_fields(
        settings,
        store=f"none yet: {home.resolve()} does not exist ('advisor ingest' creates it)",
        framework=framework_status(settings),
    )
