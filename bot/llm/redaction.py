"""Find and mask personal data and secrets before text may leave the perimeter.

Secrets: detect-secrets' named detectors (never its entropy detectors, which flag prose), plus
the shapes it lacks: connection strings, URLs with credentials, Basic/Bearer headers, webhook
URLs, and cloud keys whose shape is unambiguous without a keyword before them. Personal data is
validated, not matched by shape alone: phone numbers by ``phonenumbers``, IBANs by their mod-97
checksum (``python-stdnum``), cards by Luhn, US social security numbers by their allocation
rules, IP addresses by ``ipaddress``; dates of birth and passport numbers only when labelled.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

SECRET_KINDS = ("private_key", "api_key", "jwt", "password", "auth_header", "connection_string", "webhook_url")
PERSONAL_KINDS = ("email", "phone", "iban", "card_number", "ssn", "ip_address", "date_of_birth", "passport")

LABELS = {
    "private_key": "a private key",
    "api_key": "an API key",
    "jwt": "a token",
    "password": "a password",
    "auth_header": "credentials",
    "connection_string": "a connection string",
    "webhook_url": "a webhook URL",
    "email": "an email address",
    "phone": "a phone number",
    "iban": "a bank account number",
    "card_number": "a card number",
    "ssn": "a social security number",
    "ip_address": "an IP address",
    "date_of_birth": "a date of birth",
    "passport": "a passport number",
}

# Most specific first: a webhook URL is also matched as a Slack token, a connection string
# holds a key.
_PRIORITY = (
    "private_key",
    "connection_string",
    "webhook_url",
    "auth_header",
    "password",
    "jwt",
    "api_key",
    *PERSONAL_KINDS,
)

# Regions whose national phone formats are recognised without a +country code.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN")


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


# --- secrets ---------------------------------------------------------------------------------

_PLACEHOLDER_PART = (
    r"(?:<[^>]*>|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\{\{[^}]*\}\}|\*+|[xX]+|\.\.\.|…|changeme|"
    r"(?i:your)[-_][\w-]*|example|[A-Z][A-Z_]{2,}|[A-Za-z]{1,12}[_-](?:\.{3}|…))"
)
_PLACEHOLDER = re.compile(rf"^(?:{_PLACEHOLDER_PART}(?::{_PLACEHOLDER_PART})?|.*[*•]{{4,}}.*)$")
# A value that points at the secret rather than holding it: "${DB_PASSWORD:?…}", "$(vault read …)",
# "var.db_password", "{{ vault_x }}", "kv/data/payroll:app".
_REFERENCE = re.compile(
    r"^(?:\$[{(]|\{\{|(?:var|local|data|module|each|self|secrets|vars|env)\.[\w.]+$|[a-z0-9_-]+(?:/[a-z0-9_:.-]+)+$)"
)

# The line after a private key's first line, when the key itself is there: base64, after any
# "Proc-Type:"-style headers; in JSON, after an escaped line break; in a paste that lost its
# line breaks, a long run of base64.
_BODY_LINE = (
    r"(?:(?:[ \t]*(?:\r?\n|\\[nr]))+(?:\s*[A-Za-z-]+:[^\n]*\n)*\s*[A-Za-z0-9+/=]{4,}(?=[\s\"']|\\[nr]|$)"
    r"|[ \t]+[A-Za-z0-9+/=]{40})"  # pasted into one line
)

# "Password" in the languages people paste in.
_PASSWORD_WORDS = (
    r"password|[\w-]*passwort|kennwort|mot de passe|mdp|contrase[ñn]a|senha|palavra-passe|wachtwoord|"
    r"parola d'ordine|lösenord\w*|has[łl][oa]|salasana|adgangskode|kodeord"
)

_SECRET_PATTERNS: list[tuple[str, re.Pattern]] = [
    # A private key has a body: a BEGIN line alone, or one around "[REDACTED]", holds nothing.
    (
        "private_key",
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----" + _BODY_LINE + r"[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"
        ),
    ),
    (
        "private_key",
        re.compile(r"PuTTY-User-Key-File-\d:[\s\S]{0,600}?Private-Lines:\s*\d+\s+[A-Za-z0-9+/=]{40}[^\n]*"),
    ),
    (
        "connection_string",
        re.compile(
            r"(?i)\b(?:DefaultEndpointsProtocol=[^\s;]+;)?[^\s;\"']*(?:AccountKey|SharedAccessKey|SharedAccessSignature"
            r")=(?P<secret>[^\s\"';`]{8,})(?:;[^\s\"';`]+=[^\s\"';`]*)*"
        ),
    ),
    (
        "connection_string",
        re.compile(r"(?i)\b(?:Server|Data Source|Host)=[^;\n]+;(?:[^;\n]+;)*?\s*(?:Password|Pwd)=[^;\s\"']+;?"),
    ),
    (
        "webhook_url",
        re.compile(
            r"https://(?:hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{16,}"
            r"|(?:discord(?:app)?\.com)/api/webhooks/\d+/[A-Za-z0-9_-]{20,}"
            r"|[a-z0-9-]+\.webhook\.office\.com/webhookb2/[^\s\"'<>]{20,}"
            r"|outlook\.office(?:365)?\.com/webhook/[^\s\"'<>]{20,}"
            r"|hooks\.zapier\.com/hooks/catch/\d+/[A-Za-z0-9]+/?"
            r"|[a-z0-9-]+\.[a-z0-9-]+\.logic\.azure\.com(?::443)?/workflows/[0-9a-f]{20,}[^\s\"'<>]*"
            r"|[\w.-]+/hooks/[a-z0-9]{26}(?![A-Za-z0-9])"
            r"|chat\.googleapis\.com/v1/spaces/[\w-]+/messages\?key=[\w-]+&token=[\w-]+"
            r"|[a-z0-9.-]+\.api\.powerplatform\.com(?::443)?/powerautomate/automations/direct/workflows/[^\s\"'<>]{20,})"
        ),
    ),
    ("password", re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@\"']*:(?P<secret>[^\s@/\"']{3,})@[^\s\"'<>]+", re.I)),
    (
        "auth_header",
        re.compile(r"(?i)\b(?:authorization\s*:\s*)?(?:basic|bearer|token)\s+(?P<secret>[A-Za-z0-9._~+/=-]{12,})"),
    ),
    ("auth_header", re.compile(r"(?i)(?:curl\b[^\n]*?)\s(?:-u|--user)\s+['\"]?(?P<secret>[^\s:'\"]+:['\"]?[^\s'\"]+)")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.\s*[A-Za-z0-9_-]{8,}\.\s*[A-Za-z0-9_-]{8,}")),
    (
        "api_key",
        re.compile(
            r"\b(?:sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[A-Za-z0-9_-]{20,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"
            r"|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|gh[pousr]_[A-Za-z0-9]{30,}"
            r"|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposre]-[A-Za-z0-9-]{10,}"
            r"|xapp-[A-Za-z0-9-]{10,}|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|npm_[A-Za-z0-9]{30,}"
            r"|pypi-[A-Za-z0-9_-]{40,}|SK[0-9a-f]{32}|hf_[A-Za-z0-9]{30,})"
        ),
    ),
    # An AWS secret access key has no prefix, but 40 characters of base64 with a '/' or '+'
    # and mixed case do not occur in prose, hashes (hex) or UUIDs.
    (
        "api_key",
        re.compile(
            r"(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*[/+])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])"
            r"(?=[A-Za-z0-9/+]*\d)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        ),
    ),
    # A value after a keyword, also as the end of an identifier (DB_PASSWORD=, AWS_SECRET_ACCESS_KEY=).
    (
        "password",
        re.compile(
            r"(?i)(?:\b|_)(?:password|passwd|pwd|passphrase|secret|client[_-]?secret|api[_-]?key|access[_-]?key|"
            r"secret[_-]?key|auth[_-]?token|token)\b(?:\s+is)?\s*[:=]\s*['\"`]?"
            r"(?![\w.\[\]'\"]*\(|!|(?:os\.environ|process\.env|env\.|settings\.|config\.)\b)(?P<secret>[^\s'\",;`]{6,})"
        ),
    ),
    # On a command line: mysql -pSECRET, sshpass -p SECRET, PGPASSWORD=SECRET.
    (
        "password",
        re.compile(r"\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n]*?\s-p(?P<secret>[^\s'\"`]{3,})"),
    ),
    ("password", re.compile(r"\bsshpass\s+-p\s*['\"]?(?P<secret>[^\s'\"`]{3,})")),
    ("password", re.compile(r"\b[A-Z][A-Z0-9]*(?:PASSWORD|PASSWD|PASS)\s*=\s*['\"]?(?P<secret>[^\s'\"`]{4,})")),
    # "the password for the staging admin is Winter2026!": a value that looks like one.
    (
        "password",
        re.compile(
            rf"(?i)\b(?:passphrase|passcode|pin|{_PASSWORD_WORDS})\b"
            r"(?:\s+[\w-]+){0,6}?(?:\s+(?:is|was|ist(?:\s+jetzt)?|est|es|é|è|e'|är|er|jest|to|=)\s+|\s*[:=]\s*|\s+(?=[`'\"]))[`'\"]?"
            r"(?P<secret>(?=\S*[\d!@#$%^&*?])(?=\S*[A-Za-z])[^\s'\"`]{6,}?)[`'\"]?(?=[\s.,;)]|$)"
        ),
    ),
    (
        "password",
        re.compile(
            rf"(?i)\b(?:{_PASSWORD_WORDS})"
            r"\s+(?P<secret>(?=\S*\d)(?=\S*[a-z])(?=\S*[A-Z])(?=\S*[^\w\s])[^\s'\"`]{8,}?)(?=[\s,;)]|[.,;]?$)"
        ),
    ),
]


@lru_cache(maxsize=1)
def _detect_secrets_plugins() -> tuple:
    """detect-secrets' named detectors (its high-entropy ones flag ordinary prose)."""
    try:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    except ImportError:  # pragma: no cover - a declared dependency
        return ()
    skip = {"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector", "IPPublicDetector"}
    plugins = []
    for cls in get_mapping_from_secret_type_to_class().values():
        if cls.__name__ not in skip:
            try:
                plugins.append(cls())
            except TypeError:  # a detector that needs configuration
                continue
    return tuple(plugins)


def _library_secrets(text: str) -> list[Finding]:
    found = []
    for plugin in _detect_secrets_plugins():
        kind = "private_key" if type(plugin).__name__ == "PrivateKeyDetector" else "api_key"
        for line_start, line in _lines(text):
            for secret in plugin.analyze_string(line):
                at = line.find(secret)
                if at < 0 or len(secret) < 8 or _PLACEHOLDER.match(secret) or _filler(secret):
                    continue
                if kind == "private_key" and not _KEY_BODY.match(text, line_start + at + len(secret)):
                    continue  # a key's first line, quoted or around "[REDACTED]", holds no key
                found.append(Finding(kind, line_start + at, line_start + at + len(secret)))
    return found


_KEY_BODY = re.compile(r"[ A-Z-]*" + _BODY_LINE)


def _filler(value: str) -> bool:
    """A documentation value: "ghp_XXXXXXXX…", "AKIA0000000000000000", a webhook URL whose
    token parts are all X: runs of one filler character make up most of it."""
    filled = sum(len(m.group(0)) for m in re.finditer(r"([xX*0•])\1{5,}", value))
    return filled >= 8 and filled >= 0.5 * len(re.findall(r"[A-Za-z0-9*•]", value))


def _lines(text: str):
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


# --- personal data ---------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+/-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ \n]?[A-Z0-9]{4}){2,7}(?:[ \n]?[A-Z0-9]{1,4})?\b")  # Slack may wrap it
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
_SSN_LABELLED = re.compile(
    r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\s*(?:is|:|#)?\s*(\d{3})[ -]?\s*(\d{2})[ -]?\s*(\d{4})\b"
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w.]|/\d)")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:/\d{1,3})?(?![\w:]|/\d)")
# A dotted quad after these words is a version number, not an address.
_VERSION_CONTEXT = re.compile(
    r"(?i)\b(?:version|ver|v|driver|release|build|package|install(?:ed)?|upgraded?|"
    r"updated?|bump(?:ed)?|agent|firmware|sdk|jdbc|odbc)\W{0,3}(?:\w+\W{1,3}){0,2}$"
)
# A number right after one of these labels is an identifier, not a phone number.
_ID_CONTEXT = re.compile(
    r"(?i)(?:\b(?:part|order|invoice|ticket|case|item|sku|article|serial|model|epoch|timestamp|"
    r"ts|id|teilenummer|artikel\w*|bestell\w*|rechnung\w*|pedido|cliente|"
    r"commande|factura|facture)\.?|#)\s*[:=]?\s*$"
)
_DOB = re.compile(
    r"(?i)\b(?:date of birth|d\.?o\.?b\.?|born(?: on)?|birth ?date|birthday|geburtsdatum|geboren am|"
    r"date de naissance|n[ée]e? le|fecha de nacimiento|geboortedatum|geboren op|data di nascita|"
    r"data de nascimento|data urodzenia|urodzon[ya]|födelsedatum|född|fødselsdato|syntymäaika)"
    r"(?:\s+[\w'’()-]+){0,6}?[\"'`]?\s*(?:is|as|was|:|-|=)?\s*[\"'`]?"
    r"(\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}(?:st|nd|rd|th)?\.?\s+(?:de\s+)?[^\W\d_]{3,10},?\s+(?:de\s+)?\d{4}"
    r"|[A-Za-z]{3,9}\s+\d{1,2},?\s+\d{4})"
)
_PASSPORT = re.compile(
    r"(?i)\b(?:passport|reisepass|passeport|pasaporte|passaporte|paspoort|passaporto|passnummer|paszport\w*|pass nr)"
    r"(?:[\s_-]*(?:number|no\.?|nr\.?|#|num\.?|nummer|n°|numéro|número|numero))?"
    r"(?:[\s,:]+[\w'’.º°#-]+){0,8}?"
    r"\s*(?:is|:)?\s*[`'\"]?((?=(?:[A-Z]*\d){4})[A-Z0-9]{6,9})\b"
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _ssn_ok(area: str, group: str, serial: str) -> bool:
    a = int(area)
    return a != 0 and a != 666 and a < 900 and group != "00" and serial != "0000"


def _iban_ok(candidate: str) -> bool:
    try:
        from stdnum import iban
    except ImportError:  # pragma: no cover - a declared dependency
        return False
    # The mod-97 check digits; a country's own BBAN rules are stricter than a detector needs.
    return iban.is_valid(re.sub(r"\s", "", candidate), check_country=False)


def _personal(text: str) -> list[Finding]:
    found: list[Finding] = []
    for m in _EMAIL.finditer(text):
        if text[m.end() : m.end() + 1] == ":":  # git@github.com:org/repo.git is a remote, not a mailbox
            continue
        found.append(Finding("email", m.start(), m.end()))
    iban_shaped = [(m.start(), m.end()) for m in _IBAN.finditer(text)]
    for m in _IBAN.finditer(text):
        if _iban_ok(m.group()):
            found.append(Finding("iban", m.start(), m.end()))
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        inside_iban = any(m.start() < e and b < m.end() for b, e in iban_shaped)
        if 13 <= len(digits) <= 19 and _luhn_ok(digits) and len(set(digits)) > 1 and not inside_iban:
            found.append(Finding("card_number", m.start(), m.end()))
    for pattern in (_SSN_LABELLED, _SSN):
        for m in pattern.finditer(text):
            if pattern is _SSN and _ID_CONTEXT.search(text[max(0, m.start() - 30) : m.start()]):
                continue  # SKU 512-40-2231
            if _ssn_ok(*m.groups()):
                found.append(Finding("ssn", m.start(), m.end()))
    for pattern in (_IPV4, _IPV6):
        for m in pattern.finditer(text):
            try:
                interface = ipaddress.ip_interface(m.group())
            except ValueError:
                continue
            address = interface.ip
            if "/" in m.group() and address == interface.network.network_address:
                continue  # a network (10.0.0.0/8), not a host
            if address.is_unspecified or address.is_loopback:
                continue
            if address.version == 4 and _VERSION_CONTEXT.search(text[max(0, m.start() - 40) : m.start()]):
                continue
            found.append(Finding("ip_address", m.start(), m.end()))
    for m in _DOB.finditer(text):
        found.append(Finding("date_of_birth", m.start(1), m.end(1)))
    for m in _PASSPORT.finditer(text):
        found.append(Finding("passport", m.start(1), m.end(1)))
    found.extend(_phones(text))
    return found


def _phones(text: str) -> list[Finding]:
    try:
        import phonenumbers
    except ImportError:  # pragma: no cover - a declared dependency
        return []
    found: dict[tuple[int, int], Finding] = {}
    for region in PHONE_REGIONS:
        for leniency in (phonenumbers.Leniency.VALID, phonenumbers.Leniency.POSSIBLE):
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency):
                raw = match.raw_string
                international = raw.lstrip("(").startswith("+")
                if leniency == phonenumbers.Leniency.POSSIBLE and not international:
                    continue  # a merely possible national number is too often an id
                digits = re.sub(r"\D", "", raw)
                before = text[match.start - 1] if match.start else " "
                after = text[match.end] if match.end < len(text) else " "
                if (
                    len(digits) < (8 if international else 9)
                    or len(digits) > 15  # longer than any phone number (E.164): a card, an account
                    or re.fullmatch(r"\d{1,4}(?: \d{3})+", raw)  # "1 000 000 000", "2026 2027"
                    or re.search(r"\d+\.\d+\.\d+\.\d+", raw)  # an address or a version
                    or before in "-/#"
                    or re.search(r"\d[ .-]?$", text[max(0, match.start - 2) : match.start])
                    or re.match(r"[ .-]?\d", text[match.end : match.end + 2])  # inside a longer number
                    or before.isalpha()
                    or after in "-/"
                    or after.isalpha()
                    or _ID_CONTEXT.search(text[max(0, match.start - 30) : match.start])
                ):
                    continue  # part of a longer token: INV-2026-004512, 030-1234-5678-A
                found[(match.start, match.end)] = Finding("phone", match.start, match.end)
    return list(found.values())


# --- all together ----------------------------------------------------------------------------


def find_sensitive(text: str) -> list[Finding]:
    """Every secret and item of personal data in ``text``, without overlaps (secrets first:
    a key is not also reported as a phone number)."""
    if not text:
        return []
    candidates: list[Finding] = []
    for kind, pattern in _SECRET_PATTERNS:
        for m in pattern.finditer(text):
            secret = m.groupdict().get("secret")
            if secret is not None and (
                _PLACEHOLDER.match(secret.strip("'\"")) or _REFERENCE.match(secret.strip("'\"`"))
            ):
                continue
            if _filler(m.group()):
                continue
            candidates.append(Finding(kind, m.start(), m.end()))
    candidates.extend(_library_secrets(text))
    candidates.extend(_personal(text))
    order = {k: n for n, k in enumerate(_PRIORITY)}
    # Longest first within the same priority, so a whole connection string wins over its key.
    candidates.sort(key=lambda f: (f.kind not in SECRET_KINDS, order[f.kind], -(f.end - f.start)))
    kept: list[Finding] = []
    for f in candidates:
        if not any(f.start < k.end and k.start < f.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def redact(text: str) -> tuple[str, list[Finding]]:
    findings = find_sensitive(text)
    out = text
    for f in reversed(findings):
        out = out[: f.start] + f"[REDACTED {f.kind.upper()}]" + out[f.end :]
    return out, findings


def describe(findings: list[Finding]) -> str:
    return ", ".join(dict.fromkeys(LABELS[f.kind] for f in findings))


def strip_sensitive(text: str) -> str:
    findings = find_sensitive(text)
    for f in reversed(findings):
        text = text[: f.start] + text[f.end :]
    return " ".join(text.split())
