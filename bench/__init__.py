"""Benchmarks: our ingest and retrieval side by side with a naive LangChain pipeline.

``make bench`` (``python -m bench.run``) writes ``bench/results.md`` and ``bench/latency.png``.
Benchmarks report; they never fail on speed (a correctness check that fails, such as the
embedding model loading during a no-op re-ingest, gives a non-zero exit after the report).
"""
