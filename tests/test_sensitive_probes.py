"""The labelled probe set (tests/probes/sensitive.yaml): recall per kind and group, precision
overall, against the targets (secrets ≥ 0.95, personal data ≥ 0.90, precision ≥ 0.95)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.llm.redaction import PERSONAL_KINDS, SECRET_KINDS, find_sensitive, redact

PROBES = Path(__file__).parent / "probes" / "sensitive.yaml"
# Written later, independently; measured once before the detector was changed for it (see the
# closing note of the governance issue), then used as a second regression set.
HELD_OUT = Path(__file__).parent / "probes" / "sensitive-heldout.yaml"
# A second one, written blind later (185 messages in five languages); measured once before any
# change for it: secrets recall 0.948, personal 0.895, precision 0.938. Its misses (a password on a
# mysql command line or after a label with no colon, Power Automate triggers, an interface
# address with its prefix, birth dates and passports labelled in Dutch, German and French) and
# false alarms (a key's first line with no key, "ghp_XXXX…", an Ansible vault tag, a code call
# after "token =", a SKU) were fixed; it is a regression set since.
HELD_OUT_2 = Path(__file__).parent / "probes" / "sensitive-heldout2.yaml"
# A third, written blind after those fixes (172 messages: HR, support, finance, manifests, Slack
# markup and wrapping; Italian, Portuguese, Polish, Swedish), measured once: secrets recall
# 0.904, personal 0.857, precision 0.941. Fixed since: values wrapped across lines (a JWT, an
# IBAN, an SSN), password labels and birth-date/passport labels in those languages, a quoted
# curl -u password, Mattermost and Google Chat webhooks, references instead of values
# ("${VAR:?…}", "$(vault read …)", "var.db_password", "kv/data/…"), X-filled webhook URLs, and a
# phone number read inside a card number.
HELD_OUT_3 = Path(__file__).parent / "probes" / "sensitive-heldout3.yaml"


def probe_report(paths=(PROBES, HELD_OUT, HELD_OUT_2, HELD_OUT_3)) -> dict:
    items = [item for path in paths for item in yaml.safe_load(path.read_text(encoding="utf-8"))]
    kinds: dict[str, dict] = {}
    flagged_total = flagged_right = 0
    misses, false_alarms = [], []
    for item in items:
        found = find_sensitive(item["text"])
        kind = item["kind"]
        if found:
            flagged_total += 1
            flagged_right += kind is not None
        if kind is None:
            if found:
                false_alarms.append((item["text"], [f.kind for f in found]))
            continue
        row = kinds.setdefault(kind, {"n": 0, "flagged": 0, "same_kind": 0})
        row["n"] += 1
        row["flagged"] += bool(found)
        row["same_kind"] += any(f.kind == kind for f in found)
        if not found:
            misses.append((kind, item["text"]))

    def group(names) -> float:
        n = sum(kinds[k]["n"] for k in names if k in kinds)
        return sum(kinds[k]["flagged"] for k in names if k in kinds) / n if n else 1.0

    return {
        "items": len(items),
        "kinds": kinds,
        "secrets_recall": group(SECRET_KINDS),
        "personal_recall": group(PERSONAL_KINDS),
        "precision": flagged_right / flagged_total if flagged_total else 1.0,
        "misses": misses,
        "false_alarms": false_alarms,
    }


def test_probe_set_meets_the_targets():
    report = probe_report()
    print(f"\n{'kind':<18}{'n':>4}{'recall':>8}{'same kind':>11}")
    for kind, row in sorted(report["kinds"].items()):
        print(f"{kind:<18}{row['n']:>4}{row['flagged'] / row['n']:>8.2f}{row['same_kind'] / row['n']:>11.2f}")
    print(
        f"secrets recall {report['secrets_recall']:.3f}, personal recall {report['personal_recall']:.3f}, "
        f"precision {report['precision']:.3f}"
    )
    for miss in report["misses"]:
        print("MISS", miss)
    for alarm in report["false_alarms"]:
        print("FALSE ALARM", alarm)
    assert report["items"] >= 250
    assert report["secrets_recall"] >= 0.95
    assert report["personal_recall"] >= 0.90
    assert report["precision"] >= 0.95


def test_redaction_masks_every_finding():
    text = (
        "ping jane.doe@example.com or +44 20 7946 0958; key AKIAIOSFODNN7EXAMPLE; "
        "Authorization: Basic dXNlcjpwYXNzd29yZA==; server 203.0.113.42"
    )
    masked, findings = redact(text)
    assert {f.kind for f in findings} == {"email", "phone", "api_key", "auth_header", "ip_address"}
    for secret in ("jane.doe", "7946", "AKIA", "dXNlcjpw", "203.0.113"):
        assert secret not in masked


@pytest.mark.parametrize(
    "text, kind",
    [
        ("restore with `mysqldump -u app -pN0rth-Star-19 shop > shop.sql`", "password"),
        ("PGPASSWORD=Kw9-rt55x psql -h db -U app", "password"),
        ("Zugang zum Switch: Benutzer admin, Kennwort Mond.Hase.2024!", "password"),
        (
            "the flow trigger: https://prod-12.northeurope.logic.azure.com:443/workflows/9c1e2f3a4b5c6d7e8f90a1b2c3d4e5f6/triggers",
            "webhook_url",
        ),
        ("inet 10.20.30.44/24 brd 10.20.30.255 scope global eth0", "ip_address"),
        ("Geboortedatum van de aanvrager: 03-02-1978", "date_of_birth"),
        ("numéro de passeport du nouveau collègue pour le badge : 18FV40922", "passport"),
        ("token from the vendor:\neyJhbGciOiJIUzI1NiJ9.\neyJzdWIiOiJzeW5jIn0.\nc2lnbmF0dXJlLXZhbHVlLTEyMw", "jwt"),
        ("la password del server di staging è Mela_Rossa42", "password"),
        ("curl -u ops:'Rt5#vB8!qZ' https://internal.example.org/api", "auth_header"),
        ("SSN: 523-41-\n8876", "ssn"),
        ("Numer paszportu do wizy: ZK4810273", "passport"),
        ("data urodzenia klienta: 14.03.1991", "date_of_birth"),
        (
            '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCjFyH1JUWOYfoS\\n"',
            "private_key",
        ),
    ],
)
def test_labelled_values_in_other_shapes_and_languages_are_found(text, kind):
    assert kind in [f.kind for f in find_sensitive(text)], find_sensitive(text)


@pytest.mark.parametrize(
    "text",
    [
        "the docs say `export GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX`, use your own",
        "```\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED]\n-----END RSA PRIVATE KEY-----\n```",
        "the header `-----BEGIN EC PRIVATE KEY-----` is there but the file is empty",
        "api_token: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  66386439653236336462626566653631343031383334623638653964383738",
        "    token = build_reset_token(user, ttl=3600)",
        "the allow-list is 10.20.0.0/16 plus 192.168.0.0/24",
        "stock sync fails for SKU 512-40-2231",
        "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}",
        "administrator_login_password = var.db_password",
        "export TOKEN=$(vault read -field=token kv/partner-api)",
        "replace https://hooks.slack.com/services/XXXXXXXXX/XXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX with yours",
        "the typed card 4929 7549 1931 1402 fails the checksum",
    ],
)
def test_placeholders_key_headers_code_networks_and_skus_are_not_secrets(text):
    assert find_sensitive(text) == []
