"""Starting real server processes (llama.cpp, Chroma) for tests."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server_process(command: list[str], ready_url: str, log_path: Path, timeout: float = 120) -> Iterator[None]:
    """Run ``command`` until ``ready_url`` answers; its output goes to a file, because a full
    pipe would block the server."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + timeout
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"{command[0]} exited: {log_path.read_text()[-2000:]}")
                try:
                    urllib.request.urlopen(ready_url, timeout=1)
                    break
                except OSError:
                    if time.time() > deadline:
                        pytest.fail(
                            f"{command[0]} did not start within {timeout:.0f} s: {log_path.read_text()[-1000:]}"
                        )
                    time.sleep(0.3)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
