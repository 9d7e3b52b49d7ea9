"""``partita batch``: many jobs of any kind from one JSONL file, resumable, splittable across
machines with no coordinator.

Each line of the jobs file is one job: an ``id`` (a folder name) plus a request of
:mod:`partita.jobs` (``kind`` and that kind's options, the CLI's option names)::

    {"id": "reel-1", "kind": "generate", "prompt": "a lively reel in D", "seed": 0}
    {"id": "acc-2", "kind": "accompany", "input": "melody.mid", "instruments": "piano,bass", "seed": 1}

Input paths are relative to the jobs file. Job ``ID`` writes its files into ``DIR/ID/`` and
``DIR/ID/job.json`` with ``"status": "ok"`` or ``"failed"`` (and the error line), the request,
its seed, timings, the report :func:`partita.jobs.run_job` returns (fidelity included) and the
hash of the model checkpoint it used. A job whose ``job.json`` says ``ok`` is not run again;
``shard=(i, n)`` takes the jobs at positions ``i, i + n, ...`` so ``n`` machines (a SLURM array,
a Kubernetes indexed Job) split one file between them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partita.errors import InputError, PartitaError

JOB_FILE = "job.json"
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MODEL_OF_KIND = {"accompany": "amt", "infill": "amt", "continue": "amt", "abc": "abc", "theme": "theme"}
"""The shipped model each kind loads when the job names none."""


@dataclass(frozen=True)
class Job:
    """One line of a jobs file: its id, its position, and its request (not yet checked)."""

    id: str
    index: int
    line: int
    request: dict[str, Any]


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/N"`` → ``(i, N)`` with ``0 <= i < N`` (None → ``(0, 1)``)."""
    if text is None:
        return 0, 1
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        raise PartitaError(f"--shard {text!r}: expected i/N with 0 <= i < N (e.g. 0/4 ... 3/4)")
    return int(m.group(1)), int(m.group(2))


def read_jobs(path: str | Path) -> list[Job]:
    """The jobs of a JSONL file, input paths resolved against the file's folder.

    Raises:
        InputError: the file is missing, a line is not a JSON object, a job has no id, an id
            that is not a plain folder name, or an id used twice.
    """
    from partita.fileio import read_jsonl

    p = Path(path)
    jobs: list[Job] = []
    seen: dict[str, int] = {}
    for number, row in read_jsonl(p):
        ident = row.pop("id", None)
        if not isinstance(ident, str) or not ID_PATTERN.fullmatch(ident):
            raise InputError(p, f"line {number}: every job needs an \"id\" made of letters, digits, '.', '_' "
                             f"or '-' (got {ident!r})")
        if ident in seen:
            raise InputError(p, f"line {number}: id {ident!r} was already used on line {seen[ident]}")
        seen[ident] = number
        jobs.append(Job(ident, len(jobs), number, _resolve_paths(row, p.parent)))
    return jobs


def _resolve_paths(request: dict[str, Any], base: Path) -> dict[str, Any]:
    from partita.jobs import MODELS

    model = MODELS.get(request.get("kind"))
    out = dict(request)
    for name in getattr(model, "PATH_FIELDS", ("input",)):
        value = out.get(name)
        if isinstance(value, str) and value and not Path(value).is_absolute() and (base / value).exists():
            out[name] = str(base / value)
    return out


def status_of(folder: Path) -> str | None:
    """The status a job's ``job.json`` records (None when it has not run)."""
    try:
        return json.loads((folder / JOB_FILE).read_text()).get("status")
    except (OSError, json.JSONDecodeError):
        return None


_HASHES: dict[str, str | None] = {}


def checkpoint_hash(kind: str, model: str | None) -> dict[str, Any] | None:
    """``{"folder", "sha256"}`` of the weights a job of ``kind`` loads (the first 16 hex digits
    of the SHA-256 of its ``.safetensors`` files), or None when the kind loads no model."""
    name = MODEL_OF_KIND.get(kind)
    if name is None and not model:
        return None
    from partita import checkpoints

    folder = Path(model) if model else checkpoints.folder(name)
    key = str(folder)
    if key not in _HASHES:
        files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
        if not files:
            _HASHES[key] = None
        else:
            h = hashlib.sha256()
            for f in files:
                with f.open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            _HASHES[key] = h.hexdigest()[:16]
    return {"folder": key, "sha256": _HASHES[key]}


def run_one(job: Job, out: str | Path, threads: int | None = None) -> dict[str, Any]:
    """Run one job into ``out/<id>/`` and write its ``job.json``; never raises for a job that fails."""
    from partita.fileio import atomic_path

    if threads:
        import torch

        torch.set_num_threads(threads)
    folder = Path(out) / job.id
    folder.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {"id": job.id, "line": job.line, "kind": job.request.get("kind"),
                              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    t0 = time.perf_counter()
    try:
        from partita.jobs import parse_job, run_job

        request = parse_job(dict(job.request))
        record["request"] = request.model_dump()
        record["seed"] = getattr(request, "seed", None)
        record["checkpoint"] = checkpoint_hash(request.kind, getattr(request, "model", None))
        result = run_job(request, folder)
        record.update(status="ok", files=result["files"], report=result["report"])
    except PartitaError as exc:
        record.update(status="failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one failing job must not stop the batch
        record.update(status="failed", error=f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    record["seconds"] = round(time.perf_counter() - t0, 3)
    with atomic_path(folder / JOB_FILE) as tmp:
        tmp.write_text(json.dumps(record, indent=1, default=str))
    return record


@dataclass
class BatchReport:
    """What one ``partita batch`` run did."""

    ran: list[dict[str, Any]]
    skipped: int
    total: int
    seconds: float

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.ran if r["status"] != "ok"]

    def lines(self) -> list[str]:
        ok = len(self.ran) - len(self.failed)
        out = [f"{'id':<24} {'kind':<10} {'status':<7} {'seconds':>8}  reason"]
        for r in self.ran:
            out.append(f"{r['id'][:24]:<24} {str(r['kind'])[:10]:<10} {r['status']:<7} {r['seconds']:>8.1f}  "
                       f"{r.get('error', '')}")
        out.append(f"{ok} ok, {len(self.failed)} failed, {self.skipped} already done (of {self.total} in this "
                   f"shard), {self.seconds:.1f} s")
        return out


def run_batch(jobs_file: str | Path, out: str | Path, *, shard: tuple[int, int] = (0, 1), workers: int = 1,
              progress: bool = True) -> BatchReport:
    """Run the jobs of ``jobs_file`` that belong to ``shard`` and have not succeeded before.

    Args:
        jobs_file: the JSONL file.
        out: the output folder; job ``ID`` writes into ``out/ID/``.
        shard: ``(i, n)``: only the jobs at positions ``i, i + n, ...`` (0-based).
        workers: processes running jobs at once (each loads the models it needs once).
        progress: show a progress bar.
    """
    from tqdm import tqdm

    from partita.fileio import check_not_input

    check_not_input(out, jobs_file)
    index, count = shard
    jobs = [j for j in read_jobs(jobs_file) if j.index % count == index]
    todo = [j for j in jobs if status_of(Path(out) / j.id) != "ok"]
    t0 = time.perf_counter()
    ran: list[dict[str, Any]] = []
    bar = tqdm(total=len(todo), desc="jobs", unit="job", disable=not progress, dynamic_ncols=True)
    workers = max(1, min(workers, len(todo) or 1))
    if workers == 1:
        for job in todo:
            ran.append(run_one(job, out))
            bar.update()
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        threads = max(1, (os.cpu_count() or 1) // workers)
        ctx = multiprocessing.get_context("spawn")  # torch and music21 do not like forked state
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = [pool.submit(run_one, job, str(out), threads) for job in todo]
            for future in as_completed(futures):
                ran.append(future.result())
                bar.update()
        ran.sort(key=lambda r: r["line"])
    bar.close()
    return BatchReport(ran, len(jobs) - len(todo), len(jobs), time.perf_counter() - t0)


def summary_exit_code(report: BatchReport) -> int:
    """0 when every job of the run succeeded, 1 otherwise."""
    return 1 if report.failed else 0


__all__: Sequence[str] = ("Job", "BatchReport", "read_jobs", "run_batch", "run_one", "parse_shard", "status_of",
                          "checkpoint_hash")
