"""The assessment framework: questions, options, weights and conflict rules.

The framework lives in knowledge/assessment.yaml so that the people who own the
guidance can tune it without touching code. Because it is edited by hand and
hot-reloaded, validation is strict and every error points at a line number:
a typo must never silently change what the advisor recommends.
"""

from __future__ import annotations

import itertools
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

# What a reply's quantity may be measured in; the interpreter converts to these units.
MEASURE_UNITS: Mapping[str, str] = MappingProxyType(
    {"requests": "volume", "users": "volume", "tokens": "volume", "spend": "volume", "days": "duration"}
)


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
    # Replies as people type them; the interpreter matches meaning against these.
    examples: tuple[str, ...] = ()
    # A negated statement of the named option means this one ("nobody here has ..." → no).
    negates: str | None = None
    # Words or word beginnings that point to this option ("vllm", "terminolog"); each reply that
    # holds one gets a bonus on top of its similarity in meaning.
    cues: tuple[str, ...] = ()


@dataclass(frozen=True)
class Range:
    value: str
    below: float | None  # None: everything from the previous bound up


@dataclass(frozen=True)
class Measure:
    """A quantity a reply may state (per day for volumes), and which option each range means."""

    unit: str
    ranges: tuple[Range, ...]

    def option_for(self, amount: float) -> tuple[str, float]:
        """The option for ``amount`` and how far it sits from the nearest bound (a factor ≥ 1:
        2.0 means twice or half of it), so amounts close to a bound can be confirmed."""
        lower = None
        for r in self.ranges:
            if r.below is None or amount < r.below:
                distances = [b / amount if amount > 0 else float("inf") for b in (r.below,) if b]
                if lower:
                    distances.append(amount / lower)
                return r.value, min(distances) if distances else float("inf")
            lower = r.below
        raise AssertionError("the last range is open-ended")


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    prompt: str
    help: str
    options: tuple[Option, ...]
    cite: tuple[Citation, ...]
    policy_query: str
    measures: tuple[Measure, ...] = ()

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
class HardRule:
    """An answer the guidance treats as excluding an approach outright, whatever the scores."""

    id: str
    title: str
    when: Mapping[str, tuple[str, ...]]
    excludes: tuple[str, ...]
    message: str
    cite: tuple[Citation, ...]

    def matches(self, answers: Mapping[str, str]) -> bool:
        return all(answers.get(q) in values for q, values in self.when.items())


@dataclass(frozen=True)
class Framework:
    version: int
    approaches: Mapping[str, Approach]
    questions: tuple[Question, ...]
    conflicts: tuple[ConflictRule, ...]
    tie_break: tuple[str, ...]
    rules: tuple[HardRule, ...] = ()

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


def _weights(ctx: _Ctx, node: Node, what: str, approaches: Mapping[str, Approach]) -> Mapping[str, float]:
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
            kind: Citation(document, ctx.text(sec_items[kind][1], f"{what}.sections.{kind}")) for kind in SECTION_KINDS
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


def _option(ctx: _Ctx, node: Node, question_id: str, approaches: Mapping[str, Approach]) -> Option:
    items = ctx.mapping(
        node,
        f"an option of question '{question_id}'",
        ("value", "label", "description", "weights", "explanation"),
        ("synonyms", "examples", "negates", "cues"),
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
    examples: tuple[str, ...] = ()
    if "examples" in items:
        examples = tuple(s for _, s in ctx.text_list(items["examples"][1], f"{what} examples"))
    negates = ctx.text(items["negates"][1], f"{what} negates") if "negates" in items else None
    cues: tuple[str, ...] = ()
    if "cues" in items:
        cues = tuple(normalize_phrase(c) for _, c in ctx.text_list(items["cues"][1], f"{what} cues"))
    return Option(
        value=value,
        label=ctx.text(items["label"][1], f"{what} label"),
        description=ctx.text(items["description"][1], f"{what} description"),
        weights=weights,
        explanation=ctx.text(items["explanation"][1], f"{what} explanation"),
        synonyms=synonyms,
        examples=examples,
        negates=negates,
        cues=cues,
    )


def _measure(ctx: _Ctx, node: Node, what: str, values: tuple[str, ...]) -> Measure:
    items = ctx.mapping(node, f"a measure of {what}", ("unit", "ranges"))
    unit = ctx.text(items["unit"][1], f"{what} measure unit")
    if unit not in MEASURE_UNITS:
        raise ctx.fail(items["unit"][1], f"{what}: unknown measure unit '{unit}' (known: {', '.join(MEASURE_UNITS)})")
    ranges: list[Range] = []
    range_nodes = ctx.sequence(items["ranges"][1], f"{what} {unit} ranges")
    for n, rnode in enumerate(range_nodes):
        last = n == len(range_nodes) - 1
        ritems = ctx.mapping(rnode, f"a {unit} range of {what}", ("value",), ("below",))
        value = ctx.text(ritems["value"][1], f"{what} {unit} range value")
        if value not in values:
            raise ctx.fail(ritems["value"][1], f"{what}: range value '{value}' is not an option ({', '.join(values)})")
        below = ctx.number(ritems["below"][1], f"{what} {unit} range below") if "below" in ritems else None
        if last != (below is None):
            raise ctx.fail(rnode, f"{what}: every {unit} range but the last needs 'below'; the last has none")
        if below is not None and (below <= 0 or (ranges and below <= (ranges[-1].below or 0))):
            raise ctx.fail(ritems["below"][1], f"{what}: {unit} bounds must be positive and increasing")
        ranges.append(Range(value, below))
    return Measure(unit, tuple(ranges))


def _question(ctx: _Ctx, node: Node, approaches: Mapping[str, Approach]) -> tuple[Question, Node]:
    required = ("id", "topic", "prompt", "help", "cite", "policy_query", "options")
    items = ctx.mapping(node, "a question", required, ("measures",))
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
    for opt in options:
        if opt.negates is not None and (opt.negates not in seen or opt.negates == opt.value):
            raise ctx.fail(
                items["options"][0],
                f"{what}: option '{opt.value}' negates '{opt.negates}', which is not another option",
            )

    for value in CONTRACT_QUESTIONS.get(qid, ()):
        if value not in seen:
            raise ctx.fail(items["options"][0], f"{what} is missing contract option '{value}'")
    cite = tuple(_citation(ctx, c, f"{what} cite") for c in ctx.sequence(items["cite"][1], f"{what} cite"))
    measures: tuple[Measure, ...] = ()
    if "measures" in items:
        measures = tuple(
            _measure(ctx, m, what, tuple(seen)) for m in ctx.sequence(items["measures"][1], f"{what} measures")
        )
    question = Question(
        id=qid,
        topic=ctx.text(items["topic"][1], f"{what} topic"),
        prompt=ctx.text(items["prompt"][1], f"{what} prompt"),
        help=ctx.text(items["help"][1], f"{what} help"),
        options=tuple(options),
        cite=cite,
        policy_query=ctx.text(items["policy_query"][1], f"{what} policy_query"),
        measures=measures,
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
    when = _when(ctx, items["when"][1], what, questions)
    if len(when) < 2:
        raise ctx.fail(items["when"][1], f"{what} when must name at least two questions")
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


def _when(ctx: _Ctx, node: Node, what: str, questions: Mapping[str, Question]) -> dict[str, tuple[str, ...]]:
    when: dict[str, tuple[str, ...]] = {}
    for qid, (key, value) in ctx.free_mapping(node, f"{what} when").items():
        if qid not in questions:
            raise ctx.fail(key, f"{what} refers to unknown question '{qid}'")
        values = ctx.text_list(value, f"{what} when.{qid}")
        for vnode, v in values:
            if v not in questions[qid].values:
                valid = ", ".join(questions[qid].values)
                raise ctx.fail(vnode, f"{what}: '{v}' is not a value of question '{qid}' (valid: {valid})")
        when[qid] = tuple(v for _, v in values)
    if not when:
        raise ctx.fail(node, f"{what} when must name a question")
    return when


def _rule(ctx: _Ctx, node: Node, questions: Mapping[str, Question], approaches: Mapping[str, Approach]) -> HardRule:
    items = ctx.mapping(node, "a rule", ("id", "title", "when", "excludes", "message", "cite"))
    rid = ctx.text(items["id"][1], "rule id")
    what = f"rule '{rid}'"
    excludes = []
    for enode, approach in ctx.text_list(items["excludes"][1], f"{what} excludes"):
        if approach not in approaches:
            raise ctx.fail(enode, f"{what} excludes unknown approach '{approach}'")
        excludes.append(approach)
    # A hard rule must quote the guidance: an exclusion nobody can trace is an opinion.
    cite = tuple(_citation(ctx, c, f"{what} cite") for c in ctx.sequence(items["cite"][1], f"{what} cite"))
    return HardRule(
        id=rid,
        title=ctx.text(items["title"][1], f"{what} title"),
        when=MappingProxyType(_when(ctx, items["when"][1], what, questions)),
        excludes=tuple(excludes),
        message=ctx.text(items["message"][1], f"{what} message"),
        cite=cite,
    )


def _check_rules_leave_a_choice(
    ctx: _Ctx, node: Node, rules: list[HardRule], questions: Mapping[str, Question], approaches: Mapping[str, Approach]
) -> None:
    """Every combination of answers must leave at least one approach, or some team would get
    no recommendation at all; the space is small (a few hundred combinations)."""
    involved = sorted({q for r in rules for q in r.when})
    for combo in itertools.product(*(questions[q].values for q in involved)):
        answers = dict(zip(involved, combo))
        excluded = {a for r in rules if r.matches(answers) for a in r.excludes}
        if excluded >= set(approaches):
            shown = ", ".join(f"{q}={v}" for q, v in answers.items())
            raise ctx.fail(node, f"the rules exclude every approach when {shown}")


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
        root, "the framework", ("version", "tie_break", "approaches", "questions", "conflicts"), ("rules",)
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

    rules: list[HardRule] = []
    if "rules" in top:
        for rnode in ctx.sequence(top["rules"][1], "rules", allow_empty=True):
            rule = _rule(ctx, rnode, questions, approaches)
            if any(r.id == rule.id for r in rules):
                raise ctx.fail(rnode, f"duplicate rule id '{rule.id}'")
            rules.append(rule)
        _check_rules_leave_a_choice(ctx, top["rules"][1], rules, questions, approaches)

    return Framework(
        version=version,
        approaches=MappingProxyType(approaches),
        questions=tuple(questions.values()),
        conflicts=tuple(conflicts),
        tie_break=tie_break,
        rules=tuple(rules),
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
