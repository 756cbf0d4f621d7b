"""One burst of concurrent signed requests to the bot's /slack/events, timed to the HTTP
response (Slack's acknowledgement). Runs in its own process so the client's threads do not
share the bot's interpreter lock. Prints JSON: {"ms": [...], "statuses": {...}}.

    python -m bench.slack_client URL SECRET --kind mention|command --concurrency 50
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from tests.support.slack_requests import SlackSender, mention, sign


def build(sender: SlackSender, kind: str, n: int, response_url: str) -> tuple[str, str]:
    """(body, content type) of request ``n``: an app_mention with its own event_id, or /advisor help."""
    if kind == "mention":
        question = [
            "Can I send customer data to Azure OpenAI?",
            "Who approves AI spend?",
            "What does the hybrid approach cost us in operations?",
        ][n % 3]
        envelope = sender.envelope(mention(question), event_id=f"EvBENCH{uuid.uuid4().hex[:16].upper()}")
        return json.dumps(envelope), "application/json"
    form = {
        "token": "legacy-verification-token",
        "team_id": sender.team_id,
        "team_domain": "bench",
        "channel_id": "CGENERAL",
        "channel_name": "general",
        "user_id": f"UBENCH{n:03d}",
        "user_name": "bench",
        "command": "/advisor",
        "text": "help",
        "api_app_id": sender.api_app_id,
        "response_url": response_url,
        "trigger_id": f"trig.{uuid.uuid4().hex[:12]}",
    }
    return urlencode(form), "application/x-www-form-urlencoded"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("secret")
    parser.add_argument("--kind", choices=("mention", "command"), default="mention")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--team", default="T0TEST")
    parser.add_argument("--response-url", default="http://127.0.0.1:9/unused")
    args = parser.parse_args(argv)

    sender = SlackSender(args.url, args.secret, team_id=args.team)
    requests = [build(sender, args.kind, n, args.response_url) for n in range(args.concurrency)]
    barrier = threading.Barrier(args.concurrency)

    def send(item: tuple[str, str]) -> tuple[int, float]:
        body, content_type = item
        barrier.wait()
        ts = str(int(time.time()))
        request = urllib.request.Request(
            sender.url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sign(args.secret, ts, body),
            },
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as err:
            status = err.code
        except OSError:
            status = 0
        return status, (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        results = list(pool.map(send, requests))
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    print(json.dumps({"ms": [ms for _, ms in results], "statuses": statuses}))


if __name__ == "__main__":
    main()
