"""The labelled probe set (tests/probes/sensitive.yaml): recall per kind and group, precision
overall, against the targets (secrets ≥ 0.95, personal data ≥ 0.90, precision ≥ 0.95)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.llm.redaction import PERSONAL_KINDS, SECRET_KINDS, find_sensitive, redact

PROBES = Path(__file__).parent / "probes" / "sensitive.yaml"
# Written later, independently; measured once before the detector was changed for it (see the
# closing note of the governance issue), then used as a second regression set.
HELD_OUT = Path(__file__).parent / "probes" / "sensitive-heldout.yaml"


def probe_report(paths=(PROBES, HELD_OUT)) -> dict:
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
