"""Child process for the memory benchmark: a warm bot (AdvisorService built, warm_up(), then
N questions answered the way the Slack bot answers them) reports its peak RSS as JSON.

    python -m bench.warm_rss HOME KNOWLEDGE [--questions 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident set. On Linux from VmHWM: ``ru_maxrss`` survives exec, so
    in a child started by a big parent it reports the parent's size at fork time."""
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1_048_576 if sys.platform == "darwin" else peak / 1024


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("knowledge", type=Path)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args(argv)

    from bot.core import AdvisorService

    from bench.ours import settings_for
    from bench.quality import all_eval_questions

    started = time.perf_counter()
    service = AdvisorService(settings_for(args.home, args.knowledge))
    service.warm_up()
    warm_s = time.perf_counter() - started
    questions = [q.question for q in all_eval_questions()][: args.questions]
    for q in questions:
        service.ask(q, user="bench", channel="CBENCH")
    peak_mb = peak_rss_mb()
    current = None
    try:
        import psutil

        current = psutil.Process().memory_info().rss / 1_048_576
    except ImportError:
        pass
    docs, chunks = service.index.counts()
    print(
        json.dumps(
            {
                "peak_rss_mb": peak_mb,
                "rss_mb": current,
                "warm_up_s": warm_s,
                "questions": len(questions),
                "chunks": chunks,
                "documents": docs,
            }
        )
    )


if __name__ == "__main__":
    main()
