"""The assessment framework: questions, options, weights and conflict rules.

The framework lives in knowledge/assessment.yaml so that the people who own the
guidance can tune it without touching code. Because it is edited by hand and
hot-reloaded, validation is strict and every error points at a line number:
a typo must never silently change what the advisor recommends.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

UNSURE = "unsure"

# Approach ids the engine, Slack and CLI rely on.
CONTRACT_APPROACHES: tuple[str, ...] = ("paas", "self_hosted", "hybrid")

# Question ids and values other components rely on (buttons, CLI flags, tests).
# The YAML may add values, never drop these; every question also needs `unsure`.
CONTRACT_QUESTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "mlops_expertise": ("no", "yes"),
        "data_residency": ("no", "yes"),
        "timeline": ("weeks", "months"),
        "scale": ("low", "medium", "high"),
        "differentiation": ("generic", "specialized"),
    }
)

SECTION_KINDS: tuple[str, ...] = ("what", "pros", "cons", "when")


def normalize_phrase(text: str) -> str:
    """Canonical form for matching typed answers against labels and synonyms."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = " ".join(text.split())
    stripped = text.strip(" .,!;:'\"\u201c\u201d")
    # Keep punctuation-only answers such as "?" rather than reducing them to "".
    return stripped or text


class FrameworkError(ValueError):
    """The framework file is invalid; the message carries source, line and reason."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Citation:
    document: str  # path relative to knowledge/
    section: str  # heading path below the document title, "A > B"

    def to_dict(self) -> dict[str, str]:
        return {"document": self.document, "section": self.section}


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    description: str
    weights: Mapping[str, float]
    explanation: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    prompt: str
    help: str
    options: tuple[Option, ...]
    cite: tuple[Citation, ...]
    policy_query: str

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    def option(self, value: str) -> Option:
        for opt in self.options:
            if opt.value == value:
                return opt
        raise KeyError(value)


@dataclass(frozen=True)
class Approach:
    id: str
    title: str
    short: str
    sections: Mapping[str, Citation]  # keyed by SECTION_KINDS, in that order


@dataclass(frozen=True)
class ConflictRule:
    id: str
    title: str
    when: Mapping[str, tuple[str, ...]]  # question id -> any of these values
    message: str
    favors: str | None = None
    adjust: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def matches(self, answers: Mapping[str, str]) -> bool:
        return all(answers.get(q) in values for q, values in self.when.items())


@dataclass(frozen=True)
class Framework:
    version: int
    approaches: Mapping[str, Approach]
    questions: tuple[Question, ...]
    conflicts: tuple[ConflictRule, ...]
    tie_break: tuple[str, ...]

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)


# --------------------------------------------------------------------------
# Parsing. We validate the composed node tree rather than the loaded dicts
# because only nodes carry line numbers, and because safe_load silently keeps
# the last of two duplicate keys.


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: Node | None, reason: str) -> FrameworkError:
        line = node.start_mark.line + 1 if node is not None else None
        return FrameworkError(self.source, line, reason)

    def mapping(
        self,
        node: Node,
        what: str,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
    ) -> dict[str, tuple[ScalarNode, Node]]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        items: dict[str, tuple[ScalarNode, Node]] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise self.fail(key, f"{what} has a non-scalar key")
            name = str(key.value)
            if name in items:
                raise self.fail(key, f"duplicate key '{name}' in {what}")
            if required or optional:
                if name not in required and name not in optional:
                    allowed = ", ".join(required + optional)
                    raise self.fail(key, f"unknown key '{name}' in {what} (allowed: {allowed})")
            items[name] = (key, value)
        for name in required:
            if name not in items:
                raise self.fail(node, f"{what} is missing required key '{name}'")
        return items

    def free_mapping(self, node: Node, what: str) -> dict[str, tuple[ScalarNode, Node]]:
        return self.mapping(node, what, ())

    def sequence(self, node: Node, what: str, allow_empty: bool = False) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        if not node.value and not allow_empty:
            raise self.fail(node, f"{what} must not be empty")
        return list(node.value)

    def text(self, node: Node, what: str) -> str:
        # Plain scalars keep their source text, so `value: no` stays "no"
        # instead of becoming the YAML 1.1 boolean False.
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{what} must be a string")
        if node.tag == "tag:yaml.org,2002:null" or not str(node.value).strip():
            raise self.fail(node, f"{what} must be a non-empty string")
        return str(node.value).strip()

    def number(self, node: Node, what: str) -> float:
        if isinstance(node, ScalarNode) and node.tag in (
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
        ):
            return float(yaml.safe_load(node.value))
        raise self.fail(node, f"{what} must be a number")

    def integer(self, node: Node, what: str) -> int:
        if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:int":
            return int(yaml.safe_load(node.value))
        raise self.fail(node, f"{what} must be an integer")

    def text_list(self, node: Node, what: str) -> list[tuple[Node, str]]:
        if isinstance(node, ScalarNode):
            return [(node, self.text(node, what))]
        return [(n, self.text(n, what)) for n in self.sequence(node, what)]


def _weights(
    ctx: _Ctx, node: Node, what: str, approaches: Mapping[str, Approach]
) -> Mapping[str, float]:
    weights: dict[str, float] = {}
    for name, (key, value) in ctx.free_mapping(node, what).items():
        if name not in approaches:
            known = ", ".join(approaches)
            raise ctx.fail(key, f"{what} names unknown approach '{name}' (known: {known})")
        weights[name] = ctx.number(value, f"{what}.{name}")
    # Missing approaches score zero; filling them in keeps the engine branch-free.
    return MappingProxyType({a: weights.get(a, 0.0) for a in approaches})


def _citation(ctx: _Ctx, node: Node, what: str) -> Citation:
    items = ctx.mapping(node, what, ("document", "section"))
    return Citation(
        document=ctx.text(items["document"][1], f"{what}.document"),
        section=ctx.text(items["section"][1], f"{what}.section"),
    )


def _approaches(ctx: _Ctx, node: Node) -> dict[str, Approach]:
    approaches: dict[str, Approach] = {}
    for approach_id, (_key, value) in ctx.free_mapping(node, "approaches").items():
        what = f"approach '{approach_id}'"
        items = ctx.mapping(value, what, ("title", "short", "document", "sections"))
        document = ctx.text(items["document"][1], f"{what}.document")
        sections_node = items["sections"][1]
        sec_items = ctx.mapping(sections_node, f"{what}.sections", SECTION_KINDS)
        sections = {
            kind: Citation(document, ctx.text(sec_items[kind][1], f"{what}.sections.{kind}"))
            for kind in SECTION_KINDS
        }
        approaches[approach_id] = Approach(
            id=approach_id,
            title=ctx.text(items["title"][1], f"{what}.title"),
            short=ctx.text(items["short"][1], f"{what}.short"),
            sections=MappingProxyType(sections),
        )
    missing = [a for a in CONTRACT_APPROACHES if a not in approaches]
    if missing:
        raise ctx.fail(node, f"approaches is missing required approach(es): {', '.join(missing)}")
    return approaches


def _option(
    ctx: _Ctx, node: Node, question_id: str, approaches: Mapping[str, Approach]
) -> Option:
    items = ctx.mapping(
        node,
        f"an option of question '{question_id}'",
        ("value", "label", "description", "weights", "explanation"),
        ("synonyms",),
    )
    value = ctx.text(items["value"][1], f"question '{question_id}' option value")
    what = f"option '{value}' of question '{question_id}'"
    weights = _weights(ctx, items["weights"][1], f"{what} weights", approaches)
    if value == UNSURE and any(weights.values()):
        # `unsure` must not move the result, only lower confidence.
        raise ctx.fail(items["weights"][0], f"{what}: weights must all be 0")
    synonyms: tuple[str, ...] = ()
    if "synonyms" in items:
        synonyms = tuple(s for _, s in ctx.text_list(items["synonyms"][1], f"{what} synonyms"))
    return Option(
        value=value,
        label=ctx.text(items["label"][1], f"{what} label"),
        description=ctx.text(items["description"][1], f"{what} description"),
        weights=weights,
        explanation=ctx.text(items["explanation"][1], f"{what} explanation"),
        synonyms=synonyms,
    )


def _question(ctx: _Ctx, node: Node, approaches: Mapping[str, Approach]) -> tuple[Question, Node]:
    required = ("id", "topic", "prompt", "help", "cite", "policy_query", "options")
    items = ctx.mapping(node, "a question", required)
    qid = ctx.text(items["id"][1], "question id")
    what = f"question '{qid}'"
    options: list[Option] = []
    seen: set[str] = set()
    for opt_node in ctx.sequence(items["options"][1], f"{what} options"):
        opt = _option(ctx, opt_node, qid, approaches)
        if opt.value in seen:
            raise ctx.fail(opt_node, f"duplicate option value '{opt.value}' in {what}")
        seen.add(opt.value)
        options.append(opt)
    # A phrase may map to one option only, or free-text answers become ambiguous.
    phrases: dict[str, str] = {}
    for opt in options:
        for phrase in {opt.value, opt.label, *opt.synonyms}:
            key = normalize_phrase(phrase)
            if phrases.get(key, opt.value) != opt.value:
                raise ctx.fail(
                    items["options"][0],
                    f"{what}: '{phrase}' is used by both option '{phrases[key]}' and '{opt.value}'",
                )
            phrases[key] = opt.value
    if UNSURE not in seen:
        raise ctx.fail(items["options"][0], f"{what} must offer the '{UNSURE}' option")
    for value in CONTRACT_QUESTIONS.get(qid, ()):
        if value not in seen:
            raise ctx.fail(items["options"][0], f"{what} is missing contract option '{value}'")
    cite = tuple(
        _citation(ctx, c, f"{what} cite")
        for c in ctx.sequence(items["cite"][1], f"{what} cite")
    )
    question = Question(
        id=qid,
        topic=ctx.text(items["topic"][1], f"{what} topic"),
        prompt=ctx.text(items["prompt"][1], f"{what} prompt"),
        help=ctx.text(items["help"][1], f"{what} help"),
        options=tuple(options),
        cite=cite,
        policy_query=ctx.text(items["policy_query"][1], f"{what} policy_query"),
    )
    return question, items["id"][1]


def _conflict(
    ctx: _Ctx,
    node: Node,
    questions: Mapping[str, Question],
    approaches: Mapping[str, Approach],
) -> ConflictRule:
    items = ctx.mapping(node, "a conflict", ("id", "title", "when", "message"), ("favors", "adjust"))
    rid = ctx.text(items["id"][1], "conflict id")
    what = f"conflict '{rid}'"
    when: dict[str, tuple[str, ...]] = {}
    when_items = ctx.free_mapping(items["when"][1], f"{what} when")
    if len(when_items) < 2:
        raise ctx.fail(items["when"][1], f"{what} when must name at least two questions")
    for qid, (key, value) in when_items.items():
        if qid not in questions:
            raise ctx.fail(key, f"{what} refers to unknown question '{qid}'")
        values = ctx.text_list(value, f"{what} when.{qid}")
        for vnode, v in values:
            if v not in questions[qid].values:
                valid = ", ".join(questions[qid].values)
                raise ctx.fail(vnode, f"{what}: '{v}' is not a value of question '{qid}' (valid: {valid})")
        when[qid] = tuple(v for _, v in values)
    favors = None
    if "favors" in items:
        favors = ctx.text(items["favors"][1], f"{what} favors")
        if favors not in approaches:
            raise ctx.fail(items["favors"][1], f"{what} favors unknown approach '{favors}'")
    adjust: Mapping[str, float] = MappingProxyType({a: 0.0 for a in approaches})
    if "adjust" in items:
        adjust = _weights(ctx, items["adjust"][1], f"{what} adjust", approaches)
    return ConflictRule(
        id=rid,
        title=ctx.text(items["title"][1], f"{what} title"),
        when=MappingProxyType(when),
        message=ctx.text(items["message"][1], f"{what} message"),
        favors=favors,
        adjust=adjust,
    )


def _compose(text: str, source: str) -> Node:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise FrameworkError(source, line, f"YAML syntax error: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise FrameworkError(source, None, f"YAML error: {exc}") from exc
    if root is None:
        raise FrameworkError(source, 1, "the file is empty")
    return root


def parse_framework(text: str, source: str = "<string>") -> Framework:
    ctx = _Ctx(source)
    root = _compose(text, source)
    top = ctx.mapping(
        root, "the framework", ("version", "tie_break", "approaches", "questions", "conflicts")
    )
    version = ctx.integer(top["version"][1], "version")
    approaches = _approaches(ctx, top["approaches"][1])

    tie_nodes = ctx.text_list(top["tie_break"][1], "tie_break")
    tie_break = tuple(v for _, v in tie_nodes)
    if sorted(tie_break) != sorted(approaches):
        raise ctx.fail(
            top["tie_break"][1],
            f"tie_break must list every approach exactly once ({', '.join(approaches)})",
        )

    questions: dict[str, Question] = {}
    for qnode in ctx.sequence(top["questions"][1], "questions"):
        question, id_node = _question(ctx, qnode, approaches)
        if question.id in questions:
            raise ctx.fail(id_node, f"duplicate question id '{question.id}'")
        questions[question.id] = question
    missing = [q for q in CONTRACT_QUESTIONS if q not in questions]
    if missing:
        raise ctx.fail(top["questions"][0], f"questions is missing contract question(s): {', '.join(missing)}")

    conflicts: list[ConflictRule] = []
    for cnode in ctx.sequence(top["conflicts"][1], "conflicts", allow_empty=True):
        rule = _conflict(ctx, cnode, questions, approaches)
        if any(c.id == rule.id for c in conflicts):
            raise ctx.fail(cnode, f"duplicate conflict id '{rule.id}'")
        conflicts.append(rule)

    return Framework(
        version=version,
        approaches=MappingProxyType(approaches),
        questions=tuple(questions.values()),
        conflicts=tuple(conflicts),
        tie_break=tie_break,
    )


def load_framework(path: str | os.PathLike[str]) -> Framework:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FrameworkError(source, None, f"cannot read file: {exc.strerror or exc}") from exc
    return parse_framework(text, source)


class FrameworkProvider:
    """Serves the current framework, hot-reloading when the file changes.

    An edit that breaks the file must not take the advisor down mid-conversation,
    so an invalid file leaves the last valid framework in place and the error is
    exposed for admins via `last_error`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        loader: Callable[[str | os.PathLike[str]], Framework] = load_framework,
    ) -> None:
        self.path = Path(path)
        self._loader = loader
        self._lock = threading.Lock()
        self._framework: Framework | None = None
        self._stamp: tuple[int, int] | None = None
        self.last_error: FrameworkError | None = None

    def _current_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _load(self, stamp: tuple[int, int] | None) -> FrameworkError | None:
        # Record the stamp even on failure so a broken file is parsed once,
        # not on every get().
        self._stamp = stamp
        try:
            self._framework = self._loader(self.path)
        except FrameworkError as exc:
            self.last_error = exc
            return exc
        self.last_error = None
        return None

    def get(self) -> Framework:
        with self._lock:
            stamp = self._current_stamp()
            never_tried = self._framework is None and self.last_error is None
            if never_tried or stamp != self._stamp:
                self._load(stamp)
            if self._framework is None:
                assert self.last_error is not None
                raise self.last_error
            return self._framework

    def reload(self) -> FrameworkError | None:
        with self._lock:
            return self._load(self._current_stamp())
