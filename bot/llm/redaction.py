"""Find and mask personal data and secrets before text may leave the perimeter."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# Order matters: more specific secrets first so a token is not reported as a phone number.
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("private_key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("api_key", re.compile(
        r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}"
        r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}"
        r"|xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,})")),
    ("token", re.compile(
        r"(?i)\b(?:bearer\s+[A-Za-z0-9._~+/-]{16,}=*"
        r"|(?:api[_-]?key|secret|token|password|passwd|pwd|access[_-]?key)\s*[:=]\s*['\"]?[^\s'\"]{6,})")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
    ("card_number", re.compile(r"\b(?:\d[ -]?){12,18}\d\b")),
    ("phone", re.compile(r"(?<![\w.])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?![\w.])")),
]

LABELS = {
    "private_key": "a private key", "jwt": "a token", "api_key": "an API key", "token": "a secret",
    "email": "an email address", "card_number": "a card number", "phone": "a phone number",
    "iban": "a bank account number",
}


def find_sensitive(text: str) -> list[Finding]:
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            if kind == "card_number":
                digits = re.sub(r"\D", "", m.group())
                if not (13 <= len(digits) <= 19 and _luhn_ok(digits)):
                    continue
            if kind == "phone" and len(re.sub(r"\D", "", m.group())) < 9:
                continue
            findings.append(Finding(kind, m.start(), m.end()))
            taken.append((m.start(), m.end()))
    return sorted(findings, key=lambda f: f.start)


def redact(text: str) -> tuple[str, list[Finding]]:
    findings = find_sensitive(text)
    out = text
    for f in reversed(findings):
        out = out[:f.start] + f"[REDACTED {f.kind.upper()}]" + out[f.end:]
    return out, findings


def describe(findings: list[Finding]) -> str:
    kinds = list(dict.fromkeys(LABELS[f.kind] for f in findings))
    return ", ".join(kinds)


def strip_sensitive(text: str) -> str:
    findings = find_sensitive(text)
    for f in reversed(findings):
        text = text[:f.start] + text[f.end:]
    return " ".join(text.split())
