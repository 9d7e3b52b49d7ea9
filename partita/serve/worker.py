"""The worker process: it imports the pipelines and loads the models once, then runs the jobs
the server sends it, one at a time, and reports their progress back.

Messages over the pipe (tuples): the server sends ``("run", job id, request, out dir)``,
``("cancel", job id)`` or ``("stop",)``; the worker answers ``("ready",)`` once warm, then per
job ``("started", id)``, ``("progress", id, fraction, message)`` and one of
``("done", id, result)``, ``("failed", id, one-line error)`` or ``("cancelled", id)``. A
cancel is read at the job's next progress call (the server kills a worker that does not
get there soon enough).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any


class JobCancelled(Exception):
    """Raised inside a job (from its progress callback) when the server asked to cancel it."""


def load_runner(path: str) -> Any:
    """``"module:function"`` → the function."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def one_line(exc: BaseException) -> str:
    """An exception as the CLI would print it: one line, the message of a PartitaError, the
    type and message of anything else."""
    from partita.errors import PartitaError

    msg = " ".join(str(exc).split())[:300]
    if isinstance(exc, PartitaError):
        return msg
    return f"internal error: {type(exc).__name__}: {msg}"


def main(conn: Any, runner_path: str, warm: bool, threads: int) -> None:
    """The worker's loop (the target of a spawned process)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C in the terminal is the server's to handle
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    runner = load_runner(runner_path)
    if threads:
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:
            pass
    if warm:
        try:
            from partita.jobs import warm as warm_up

            warm_up()
        except Exception:  # noqa: BLE001 - a model that fails to load fails its jobs, not the worker
            traceback.print_exc(file=sys.stderr)
    conn.send(("ready",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        if message[0] != "run":   # a cancel that came after its job had ended
            continue
        _, job_id, request, out_dir = message
        conn.send(("started", job_id))

        def progress(fraction: float, text: str, job_id: str = job_id) -> None:
            while conn.poll():
                message = conn.recv()
                if message[0] == "stop":
                    raise SystemExit(0)
                if message[0] == "cancel" and message[1] == job_id:
                    raise JobCancelled()
            conn.send(("progress", job_id, float(fraction), str(text)))

        try:
            result = runner(request, out_dir, progress=progress)
        except JobCancelled:
            conn.send(("cancelled", job_id))
        except Exception as exc:  # noqa: BLE001 - every failure becomes the job's one-line error
            if os.environ.get("PARTITA_DEBUG"):
                traceback.print_exc(file=sys.stderr)
            conn.send(("failed", job_id, one_line(exc)))
        else:
            conn.send(("done", job_id, result))
