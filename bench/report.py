"""bench/results.md (tables with targets and met/missed) and bench/latency.png."""

from __future__ import annotations

from pathlib import Path

TARGETS = {
    "ingest_ratio": 3.0,  # ours chunks/s >= 3x the baseline's, at equal or better quality
    "noop_s": 1.5,  # no-op re-ingest of the 18F handbook
    "retrieval_p95_ms": 25.0,  # at 10k chunks
    "answer_p95_ms": 50.0,  # warm extractive answer at 10k chunks
    "growth_50k": 1.3,  # hybrid retrieval p95 at 50k chunks against 10k
    "slack_p99_ms": 100.0,  # 50 concurrent requests
    "rss_mb": 700.0,  # warm bot
    "cold_s": 4.0,  # advisor ask in a fresh process
}
TARGET_SIZE = 10_000


def _f(value, spec=",.1f", unit="") -> str:
    if value is None:
        return "n/a"
    try:
        return f"{value:{spec}}{unit}"
    except (TypeError, ValueError):
        return str(value)


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def size_near_target(latency: list[dict]) -> dict | None:
    """The measured size closest to 10k chunks, if within 30% of it."""
    rows = [r for r in latency if r.get("ours_chunks")]
    if not rows:
        return None
    row = min(rows, key=lambda r: abs(r["ours_chunks"] - TARGET_SIZE))
    return row if abs(row["ours_chunks"] - TARGET_SIZE) <= 0.3 * TARGET_SIZE else None


def summary_rows(r: dict) -> list[list[str]]:
    rows = []
    ours, base = r.get("ingest", {}).get("ours"), r.get("ingest", {}).get("baseline")
    q = r.get("quality", {})
    qo, qb = q.get("ours_hybrid"), q.get("baseline")
    if not ours:
        return rows
    ratio = ours["chunks_per_s"] / base["chunks_per_s"] if base else None
    quality_ok = None if not (qo and qb) else (qo["hit@5"] >= qb["hit@5"] and qo["mrr"] >= qb["mrr"])
    rows.append(
        [
            "Ingest throughput (chunks/s)",
            _f(ours["chunks_per_s"]),
            _f(base and base["chunks_per_s"]),
            f"≥ {TARGETS['ingest_ratio']:g}× baseline at ≥ its quality (ratio {_f(ratio, '.2f', '×')})",
            _met(None if ratio is None else (ratio >= TARGETS["ingest_ratio"] and bool(quality_ok))),
        ]
    )
    if base:
        rows.append(
            [
                "Ingest wall time, same files (s)",
                _f(ours["seconds"]),
                _f(base["seconds"]),
                "≤ the naive pipeline's",
                _met(ours["seconds"] <= base["seconds"]),
            ]
        )
    raw = r.get("ingest", {}).get("encoder")
    if raw:
        share = ours["chunks_per_s"] / raw["chunks_per_s_with_units"]
        rows.append(
            [
                f"Ingest against the raw encoder on the same texts ({raw['chunks']:,} chunks + {raw['units']:,} "
                "sentence units, same model and backend, same process)",
                f"{share:.2f} of {raw['chunks_per_s_with_units']:.1f} chunks/s "
                f"({ours['chunks_per_s'] / raw['chunks_per_s_chunks_only']:.2f} of "
                f"{raw['chunks_per_s_chunks_only']:.1f} on the chunk texts alone)",
                "—",
                "≥ 0.9 of the limit",
                _met(share >= 0.9),
            ]
        )
    rows.append(
        [
            "Ingest throughput (documents/s)",
            _f(ours["docs_per_s"], ".2f"),
            _f(base and base["docs_per_s"], ".2f"),
            f"ratio {_f(base and ours['docs_per_s'] / base['docs_per_s'], '.2f', '×')}",
            "—",
        ]
    )
    if qo:
        rows.append(
            [
                f"Retrieval quality, hit@5 / MRR ({qo['questions']} eval questions)",
                f"{qo['hit@5']:.3f} / {qo['mrr']:.3f}",
                f"{qb['hit@5']:.3f} / {qb['mrr']:.3f}" if qb else "n/a",
                "≥ baseline",
                _met(quality_ok),
            ]
        )
    re = r.get("reingest", {})
    noop = re.get("noop_main")
    if noop:
        is_18f = noop["label"] == "18f-handbook"
        rows.append(
            [
                f"No-op re-ingest, {noop['label']} ({noop['unchanged']} files; embedding model loaded: "
                f"{'no' if not noop['model_loaded'] else '**YES**'})",
                _f(noop["median_s"], ".3f", " s"),
                "—",
                f"≤ {TARGETS['noop_s']:g} s (18F handbook)",
                _met(noop["median_s"] <= TARGETS["noop_s"] if is_18f else None),
            ]
        )
    for key, label in (
        ("one_file_cold", "fresh process: model load included"),
        ("one_file_warm", "model already loaded, as the bot's re-ingest"),
    ):
        one = re.get(key)
        if one:
            rows.append(
                [
                    f"One file changed, re-ingest ({label}; {one['chunks']} chunks)",
                    _f(one["seconds"], ".2f", " s"),
                    "—",
                    "report only",
                    "—",
                ]
            )
    near = size_near_target(r.get("latency", []))
    if r.get("latency"):
        where = f"at {near['ours_chunks']:,} chunks" if near else "at ~10k chunks (not measured in this run)"
        rows.append(
            [
                f"Retrieval p95 {where} (hybrid vs similarity_search k=5)",
                _f(near and near["ours_retrieval"]["p95"], ".1f", " ms"),
                _f(near and near.get("baseline_retrieval", {}).get("p95"), ".1f", " ms"),
                f"≤ {TARGETS['retrieval_p95_ms']:g} ms at 10k",
                _met(near and near["ours_retrieval"]["p95"] <= TARGETS["retrieval_p95_ms"]),
            ]
        )
        rows.append(
            [
                f"Warm extractive answer p95 {where}",
                _f(near and near["ours_answer"]["p95"], ".1f", " ms"),
                "n/a (no answerer)",
                f"≤ {TARGETS['answer_p95_ms']:g} ms at 10k",
                _met(near and near["ours_answer"]["p95"] <= TARGETS["answer_p95_ms"]),
            ]
        )
    largest = max(r.get("latency", []), key=lambda row: row.get("ours_chunks", 0), default=None)
    if near and largest and largest["ours_chunks"] >= 4 * near["ours_chunks"]:
        grew = largest["ours_retrieval"]["p95"] / near["ours_retrieval"]["p95"]
        rows.append(
            [
                f"Retrieval p95 at {largest['ours_chunks']:,} against {near['ours_chunks']:,} chunks (hybrid)",
                f"{largest['ours_retrieval']['p95']:.1f} ms = {grew:.2f}× (answer: "
                f"{largest['ours_answer']['p95'] / near['ours_answer']['p95']:.2f}×)",
                _f(largest.get("baseline_retrieval", {}).get("p95"), ".1f", " ms"),
                f"≤ {TARGETS['growth_50k']:g}×",
                _met(grew <= TARGETS["growth_50k"]),
            ]
        )
    slack = r.get("slack", {})
    if slack.get("skipped") or slack.get("error"):
        rows.append(["Slack ack p99, 50 concurrent", "skipped", "—", f"≤ {TARGETS['slack_p99_ms']:g} ms", "n/a"])
    elif slack:
        failed = slack.get("background_errors", 0)
        for kind, s in slack["scenarios"].items():
            note = f"; {failed} background failures, see details" if failed and kind == "mention" else ""
            rows.append(
                [
                    f"Slack ack p50 / p99, {slack['concurrency']} concurrent {kind}s ({s['n']} requests{note})",
                    f"{s['p50']:.0f} / {s['p99']:.0f} ms",
                    "—",
                    f"p99 ≤ {TARGETS['slack_p99_ms']:g} ms",
                    _met(s["p99"] <= TARGETS["slack_p99_ms"]),
                ]
            )
    for key, label in (("knowledge", "Warm bot peak RSS"), ("largest", "Warm bot peak RSS")):
        rss = r.get("rss", {}).get(key)
        if rss and "peak_rss_mb" in rss:
            target = key == "knowledge"
            rows.append(
                [
                    f"{label} ({rss['chunks']:,} chunks, {rss['questions']} questions)",
                    _f(rss["peak_rss_mb"], ",.0f", " MB"),
                    "—",
                    f"≤ {TARGETS['rss_mb']:g} MB" if target else "report only",
                    _met(rss["peak_rss_mb"] <= TARGETS["rss_mb"]) if target else "—",
                ]
            )
        elif rss:
            rows.append([label, "failed", "—", "", "n/a"])
    cold = r.get("cold")
    if cold:
        rows.append(
            [
                f"Cold `advisor ask --json` (median of {len(cold['runs'])})",
                _f(cold["median_s"], ".2f", " s"),
                "—",
                f"≤ {TARGETS['cold_s']:g} s",
                _met(cold["median_s"] <= TARGETS["cold_s"] if cold["median_s"] is not None else None),
            ]
        )
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(r: dict) -> str:
    m = r["machine"]
    out = [
        "# Benchmarks: GenAI Strategy Advisor vs a naive LangChain pipeline",
        "",
        f"Generated by `make bench` (`python -m bench.run{(' ' + r['argv']) if r['argv'] else ''}`) on "
        f"{m['date']}, in {r['total_s'] / 60:.1f} min."
        + (" **Quick run** (development sizes; not the reference numbers)." if r["quick"] else ""),
        "Benchmarks report; they never fail on speed.",
        "",
        "## Machine",
        "",
        _table(
            ["", ""],
            [
                ["CPU", m["cpu"]],
                ["Cores usable", f"{m['cores']} (logical CPUs {m['logical_cpus']})"],
                ["Memory", m["memory"]],
                ["OS", m["os"]],
                ["Python", m["python"]],
                [
                    "Load average (1/5/15 min) at start / end",
                    f"{m['load_at_start']} / {m.get('load_at_end', 'n/a')} (other processes share the cores: "
                    "numbers from a loaded machine are noisy)",
                ],
                ["Commit", m["git"]],
                ["Packages", ", ".join(f"{k} {v}" for k, v in m["packages"].items())],
            ],
        ),
        "",
        "## Summary",
        "",
        _table(["Measurement", "Ours", "Naive LangChain", "Target", "Met?"], summary_rows(r)),
        "",
    ]
    if r.get("error"):
        out += [
            "**The run stopped early** (the tables hold what was measured before):",
            "",
            "```",
            r["error"].strip()[-3000:],
            "```",
            "",
        ]
    if r.get("checks"):
        out += ["**Failed checks:** " + "; ".join(r["checks"]), ""]
    out += _details(r)
    return "\n".join(out) + "\n"


def _details(r: dict) -> list[str]:
    out = ["## Details", ""]
    c = r.get("corpus")
    if not c or not r.get("ingest", {}).get("ours"):
        return out
    out += [
        "### Ingest",
        "",
        f"Corpus: `knowledge/` plus {', '.join(c['names'])} from the shared corpora, {c['files']} files, "
        "copied to a scratch folder. Both pipelines run in the same process, libraries imported "
        "beforehand; each time includes loading the files, chunking, loading the embedding model "
        "(the packaged all-MiniLM-L6-v2, offline), embedding and writing the store. Ours embeds with "
        "the project's default embedding backend (`ingest.embeddings.Embedder()`), the naive pipeline "
        "with sentence-transformers on torch (`HuggingFaceEmbeddings`). The one-time preparation of our "
        f"model before the runs (the ONNX graph export on a machine's first use, else a cache hit) took "
        f"{r.get('model_prepare_s', 0):.1f} s and is not counted.",
        "",
    ]
    rows = []
    for key, name in (
        ("ours", "Ours: `ingest.sync` (heading-aware ≤256-token chunks, SQLite + Chroma)"),
        (
            "baseline",
            "Naive: RecursiveCharacterTextSplitter(1000, 200) + HuggingFaceEmbeddings + Chroma.from_documents",
        ),
    ):
        i = r["ingest"].get(key)
        if i:
            rows.append(
                [
                    name,
                    i["documents"],
                    f"{i['chunks']:,}",
                    f"{i['avg_chunk_chars']:.0f}",
                    f"{i['seconds']:.1f}",
                    f"{i['model_load_s']:.1f}",
                    f"{i['embed_s']:.1f} ({100 * i['embed_s'] / i['seconds']:.0f}%)",
                    f"{i['chunks_per_s']:.1f}",
                    f"{i['docs_per_s']:.2f}",
                    i["load_after"],
                ]
            )
    out += [
        _table(
            [
                "Pipeline",
                "Documents",
                "Chunks",
                "Avg chunk chars",
                "Seconds",
                "of which model load s",
                "of which embedding s",
                "Chunks/s",
                "Docs/s",
                "Load avg after",
            ],
            rows,
        ),
        "",
    ]

    q = r.get("quality")
    if q:
        out += [
            "### Retrieval quality",
            "",
            f"{q['ours_hybrid']['questions']} answerable questions of `tests/eval/questions.yaml` whose "
            "expected document is in the corpus; a hit is a top-k source matching the question's "
            "`expect` suffix (`EvalQuestion.matches`).",
            "",
        ]
        rows = [
            [name, f"{s['hit@1']:.3f}", f"{s['hit@3']:.3f}", f"{s['hit@5']:.3f}", f"{s['mrr']:.3f}"]
            for name, s in (
                ("Ours, hybrid (`AdvisorService.retrieve`)", q.get("ours_hybrid")),
                ("Ours, dense only", q.get("ours_dense")),
                ("Naive, `similarity_search(k=5)`", q.get("baseline")),
            )
            if s
        ]
        out += [_table(["Retriever", "hit@1", "hit@3", "hit@5", "MRR (@5)"], rows), ""]

    re = r.get("reingest")
    if re:
        out += ["### Re-ingest", ""]
        rows = []
        for key in ("noop_main", "noop_all"):
            n = re.get(key)
            if n:
                rows.append(
                    [
                        f"No change: {n['label']}",
                        f"{n['unchanged']} unchanged",
                        "no" if not n["model_loaded"] else "YES",
                        ", ".join(f"{s:.3f}" for s in n["runs"]),
                        f"{n['median_s']:.3f}",
                    ]
                )
        for key, label in (
            ("one_file_cold", "One file changed, fresh Embedder"),
            ("one_file_warm", "One file changed again, loaded Embedder"),
        ):
            n = re.get(key)
            if n:
                rows.append(
                    [
                        f"{label} (`{re['changed_file']}`)",
                        f"{n['updated']} updated, {n['unchanged']} unchanged, {n['chunks']} chunks",
                        "yes" if n["model_loaded"] else "no",
                        f"{n['seconds']:.3f}",
                        f"{n['seconds']:.3f}",
                    ]
                )
        out += [_table(["Run", "Documents", "Model loaded", "Seconds (each)", "Median s"], rows), ""]

    lat = r.get("latency")
    if lat:
        out += [
            "### Latency against index size",
            "",
            f"{lat[0]['queries']} questions from the eval set (cycled), one unmeasured warm-up pass, then "
            "one measured pass, in one process. Ours: `Retriever.search` (hybrid: query embedding, "
            "Chroma, SQLite FTS5, fusion) and `AdvisorService.ask(record=False)` (extractive). Naive: "
            "`vectorstore.similarity_search(k=5)` (query embedding + Chroma).",
            "",
            "**Grown by duplicating vectors:** each index is grown to the target by adding copies of "
            "the ingested documents under `prefix1/`, `prefix2/`, … with their stored vectors (not "
            "re-embedded: the texts are identical), through the same index calls the ingest uses; "
            "copies after the first get a tiny deterministic perturbation (σ = 1e-3, re-normalised) "
            "so the vector index is not built over exact duplicates. See `bench/grow.py`.",
            "",
            "![latency against index size](latency.png)",
            "",
        ]
        rows = []
        for row in lat:
            o, a, b = row["ours_retrieval"], row["ours_answer"], row.get("baseline_retrieval")
            rows.append(
                [
                    f"~{row['target']:,}",
                    f"{row['ours_chunks']:,}",
                    f"{row['copies']:.2f}",
                    f"{o['p50']:.1f} / {o['p95']:.1f}",
                    f"{a['p50']:.1f} / {a['p95']:.1f}",
                    f"{row['baseline_chunks']:,}" if b else "—",
                    f"{b['p50']:.1f} / {b['p95']:.1f}" if b else "—",
                    row.get("load", ""),
                ]
            )
        out += [
            _table(
                [
                    "Target",
                    "Ours chunks",
                    "Copies",
                    "Ours retrieval p50 / p95 ms",
                    "Ours answer p50 / p95 ms",
                    "Naive chunks",
                    "Naive retrieval p50 / p95 ms",
                    "Load avg after",
                ],
                rows,
            ),
            "",
        ]
        parts = [row for row in lat if row.get("ours_parts")]
        if parts:
            names = list(parts[0]["ours_parts"])
            out += [
                "Where our retrieval time goes (each part timed alone on the same queries, p50 / p95 ms; "
                "the pool is 20 per retriever for k=5):",
                "",
                _table(
                    ["Ours chunks", *names],
                    [
                        [
                            f"{row['ours_chunks']:,}",
                            *(f"{row['ours_parts'][n]['p50']:.1f} / {row['ours_parts'][n]['p95']:.1f}" for n in names),
                        ]
                        for row in parts
                    ],
                ),
                "",
            ]

    slack = r.get("slack")
    if slack:
        out += ["### Slack acknowledgement", ""]
        if slack.get("skipped") or slack.get("error"):
            out += [f"Skipped: {slack.get('skipped') or slack.get('error')}", ""]
        else:
            out += [
                f"The bot's HTTP server (`bot.slack.server.http_server`: waitress, "
                f"{slack['http_threads']} threads, Bolt acking before the listener runs) on an ephemeral "
                "port, the mock Slack Web API of `tests/support/mock_slack.py` behind it, and "
                f"{slack['rounds']} burst(s) of {slack['concurrency']} concurrent signed POSTs from a "
                "separate process; time from sending to the HTTP response. Bursts are spaced so the "
                "previous burst's background answers have finished. "
                f"Requests waiting for a free server thread: up to {slack.get('max_queue_depth', 0)} "
                "(waitress's task queue).",
                "",
            ]
            rows = [
                [
                    s["label"],
                    s["n"],
                    f"{s['p50']:.1f}",
                    f"{s['p95']:.1f}",
                    f"{s['p99']:.1f}",
                    f"{s['max']:.1f}",
                    ", ".join(f"{k}: {v}" for k, v in s["statuses"].items()),
                ]
                for s in slack["scenarios"].values()
            ]
            out += [_table(["Requests", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "HTTP statuses"], rows), ""]
            if slack.get("background_errors"):
                kinds = "; ".join(f"{k} ×{v}" for k, v in slack["background_error_kinds"].items())
                out += [
                    f"**{slack['background_errors']} background listener failures** after the ack "
                    f"(answers/responses that did not complete): {kinds}",
                    "",
                ]
            for w in slack.get("warnings", []):
                out += [f"Warning: {w}", ""]

    rss, cold = r.get("rss", {}), r.get("cold")
    if rss or cold:
        out += [
            "### Memory and cold start",
            "",
            "Peak RSS (`VmHWM`) of a fresh process that builds `AdvisorService`, calls `warm_up()` "
            "and answers eval questions as the bot does. Cold start: wall time of "
            '`python -m bot ask "…" --json` in a fresh process on the ingested corpus.',
            "",
        ]
        for key, s in rss.items():
            if "error" in s:
                out += [f"- RSS ({key}): failed: `{s['error'][-300:]}`"]
            else:
                out += [
                    f"- RSS on {s['chunks']:,} chunks: peak {s['peak_rss_mb']:.0f} MB (warm-up {s['warm_up_s']:.1f} s)"
                ]
        if cold:
            out += [
                f"- Cold ask: runs {', '.join(f'{t:.2f} s' for t in cold['runs'])}"
                + (f"; error: `{cold['error'][-300:]}`" if cold.get("error") else "")
            ]
        out += [""]
    return out


def plot(r: dict, path: Path) -> bool:
    lat = r.get("latency")
    if not lat:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    xs = [row["ours_chunks"] for row in lat]
    for key, label, marker, color in (
        ("ours_retrieval", "ours: hybrid retrieval", "o", "C0"),
        ("ours_answer", "ours: warm extractive answer", "s", "C1"),
    ):
        ax.plot(xs, [row[key]["p50"] for row in lat], marker=marker, linestyle="-", color=color, label=f"{label} p50")
        ax.plot(
            xs,
            [row[key]["p95"] for row in lat],
            marker=marker,
            linestyle="--",
            color=color,
            alpha=0.5,
            label=f"{label} p95",
        )
    base = [row for row in lat if row.get("baseline_retrieval")]
    if base:
        bx = [row["baseline_chunks"] for row in base]
        ax.plot(
            bx,
            [row["baseline_retrieval"]["p50"] for row in base],
            marker="^",
            linestyle="-",
            color="C2",
            label="naive LangChain: similarity_search p50",
        )
        ax.plot(
            bx,
            [row["baseline_retrieval"]["p95"] for row in base],
            marker="^",
            linestyle="--",
            color="C2",
            alpha=0.5,
            label="naive LangChain: similarity_search p95",
        )
    ax.axhline(TARGETS["retrieval_p95_ms"], color="grey", linewidth=0.8, linestyle=":")
    ax.axhline(TARGETS["answer_p95_ms"], color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_xticks(sorted(set(xs)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("index size (chunks, log scale)")
    ax.set_ylabel("latency (ms)")
    ax.set_ylim(bottom=0)
    ax.set_title("Latency against index size" + (" (quick run)" if r["quick"] else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


if __name__ == "__main__":  # python -m bench.report [bench/results.json]: render the report again
    import json
    import sys

    here = Path(__file__).resolve().parent
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "results.json"
    figures = json.loads(source.read_text(encoding="utf-8"))
    (here / "results.md").write_text(markdown(figures), encoding="utf-8")
    plot(figures, here / "latency.png")
    print(markdown(figures).split("## Details")[0])
