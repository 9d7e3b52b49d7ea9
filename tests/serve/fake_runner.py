"""A stand-in runner for the queue tests: it behaves as the prompt of a generate job says
(finish, fail, crash the worker, run until cancelled, ignore a cancel), so that the queue's
machinery (limits, cancel, restart) is tested in a second, not at the pace of the models."""

from __future__ import annotations

import os
import time
from pathlib import Path

from partita.errors import PartitaError

LIMIT = 30.0   # no behaviour runs longer than this: a test never hangs


def run(request: dict, out_dir: str, progress=None) -> dict:  # noqa: ANN001
    what = request.get("prompt", "")
    progress = progress or (lambda f, m: None)
    progress(0.0, "starting")
    if what == "fail":
        raise PartitaError("melody.mid: contains no notes")
    if what == "bug":
        raise ZeroDivisionError("division by zero")
    if what == "crash":
        os._exit(3)
    t0 = time.monotonic()
    if what == "cooperative":           # stops at its next progress call after a cancel
        while time.monotonic() - t0 < LIMIT:
            progress(0.5, "working")
            time.sleep(0.02)
    if what == "stubborn":              # never calls progress again: only a kill stops it
        while time.monotonic() - t0 < LIMIT:
            time.sleep(0.02)
    path = Path(out_dir) / "piece.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xff\x2f\x00")
    progress(1.0, "done")
    return {"files": {"midi": "piece.mid"}, "report": {"seed": request.get("seed"), "pid": os.getpid()}}
