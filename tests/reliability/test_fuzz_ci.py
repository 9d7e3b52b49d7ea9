"""The bounded fuzz run CI makes (about two minutes): every reader, a few inputs each, drawn by
Hypothesis from the harness's seeds and mutations, each run through the CLI and the Python API
in a child under a time and memory limit. The longer run is ``python -m benchmarks.fuzz``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

INPUTS = {"midi": 12, "abc": 8, "musicxml": 8, "wav": 8, "description": 12, "prompt": 4}


@pytest.mark.slow
def test_a_bounded_fuzz_run_finds_no_crash_hang_or_traceback(tmp_path):
    from benchmarks.fuzz import PWNED, fuzz_reader, warm_up

    PWNED.unlink(missing_ok=True)
    seeds = warm_up(list(INPUTS))
    vm = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    failures, runs = [], 0
    for k, (reader, n) in enumerate(INPUTS.items()):
        result = fuzz_reader(reader, seeds[reader], n, 1000 + k, time_limit=30, mem_limit=vm + 2048 * 2**20,
                             keep=tmp_path / "failures", progress=False)
        assert result["inputs"] == n
        runs += sum(sum(c.values()) for c in result["outcomes"].values())
        failures += result["failures"]
    assert runs >= sum(INPUTS.values()) * 2
    assert not failures, "\n".join(f"{f['reader']} {f['entry']} {f['outcome']} ({f['mutations']}): {f['stderr']}"
                                   for f in failures)
    assert not PWNED.exists(), "a description file ran code"
