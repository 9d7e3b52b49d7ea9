"""Runs of partita's CLI in a forked child under a time and memory limit (benchmarks/fuzz.py)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def run_limited():
    """``run_limited(reader, entry, path, time_limit=60)`` -> the harness's record of one run
    (``outcome``: ok / error / hang / traceback / ...; ``stderr``: its last line; ``maxrss_mb``)."""
    from benchmarks.fuzz import run_one, warm_imports

    warm_imports()

    vm = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")

    def run(reader: str, entry: str, path: Path, time_limit: float = 60.0, mem_mb: int = 3072) -> dict:
        return run_one(reader, entry, Path(path), time_limit=time_limit, mem_limit=vm + mem_mb * 2**20)

    return run


@pytest.fixture
def deadline():
    """``with deadline(seconds):`` fails the test (instead of hanging the suite) past ``seconds``;
    the code under test runs in this process, so this is for inputs that are fast once fixed."""

    @contextlib.contextmanager
    def limit(seconds: int):
        def expire(signum, frame):
            raise TimeoutError(f"still running after {seconds} s")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.alarm(seconds)
        try:
            yield
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)

    return limit
