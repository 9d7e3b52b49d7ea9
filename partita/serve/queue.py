"""The bounded job queue and its one warm worker process.

Jobs wait in a queue of at most ``max_queue``; one dispatcher thread hands them, one at a
time, to a worker process that loaded the models once (:mod:`partita.serve.worker`). A job
that runs past ``job_timeout`` seconds, or that is cancelled and does not stop by itself
within ``cancel_grace`` seconds, has its worker killed; a worker that dies takes only its
job with it: the job is marked failed with the reason, and a new worker is started for the
next one. Every job's state is kept in a JSON sidecar beside its files.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TERMINAL = ("done", "failed", "cancelled")
SIDECAR = "job.json"


class QueueFull(Exception):
    """The queue holds ``max_queue`` waiting jobs already."""


@dataclass
class Job:
    """One job: what was asked, where its files go, and how far it got."""

    id: str
    kind: str
    client: str
    request: dict[str, Any]
    folder: Path
    status: str = "queued"
    progress: float = 0.0
    message: str = ""
    error: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel_requested: bool = False

    def public(self) -> dict[str, Any]:
        """The job as ``GET /api/jobs/{id}`` answers it (no paths of the machine)."""
        request = {k: v for k, v in self.request.items() if k != "input"}
        return {"id": self.id, "kind": self.kind, "status": self.status, "progress": round(self.progress, 3),
                "message": self.message, "error": self.error, "files": self.files, "report": self.report,
                "seed": request["seed"] if request.get("seed") is not None else self.report.get("seed"),
                "request": request,
                "created": self.created, "started": self.started, "finished": self.finished}

    def save(self) -> None:
        """Write the sidecar atomically."""
        from partita.fileio import atomic_path

        data = {**self.public(), "client": self.client, "input": self.request.get("input")}
        with atomic_path(self.folder / SIDECAR) as tmp:
            tmp.write_text(json.dumps(data, indent=1, default=str))

    @classmethod
    def load(cls, path: Path) -> Job:
        data = json.loads(path.read_text())
        request = dict(data.get("request") or {})
        if data.get("input"):
            request["input"] = data["input"]
        return cls(id=data["id"], kind=data["kind"], client=data["client"], request=request, folder=path.parent,
                   status=data["status"], progress=data.get("progress", 0.0), message=data.get("message", ""),
                   error=data.get("error"), files=data.get("files") or {}, report=data.get("report") or {},
                   created=data.get("created", 0.0), started=data.get("started"), finished=data.get("finished"))


class JobQueue:
    """Jobs in, results out, through one worker process.

    Args:
        work_dir: the folder of every client's jobs (``<client>/jobs/<id>/``).
        max_queue: most jobs waiting (the running one not counted); more raise QueueFull.
        job_timeout: seconds a job may run before its worker is killed.
        runner: ``"module:function"`` the worker calls as ``runner(request, out_dir, progress=)``.
        warm: load the models when the worker starts.
        cancel_grace: seconds a cancelled job gets to stop by itself before its worker is killed.
        threads: torch threads in the worker (0: torch's default).
    """

    def __init__(self, work_dir: Path, *, max_queue: int = 16, job_timeout: float = 600.0,
                 runner: str = "partita.jobs:run_job", warm: bool = True, cancel_grace: float = 2.0,
                 threads: int = 1):
        self.work_dir = Path(work_dir)
        self.max_queue = max_queue
        self.job_timeout = job_timeout
        self.runner = runner
        self.warm = warm
        self.cancel_grace = cancel_grace
        self.threads = threads
        self.jobs: dict[str, Job] = {}
        self.waiting: collections.deque[str] = collections.deque()
        self.running: str | None = None
        self.workers_started = 0
        self.lock = threading.Condition()
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: Any = None
        self._stopping = False
        self._thread: threading.Thread | None = None

    # ---- the public side (called from request handlers)

    def start(self) -> None:
        """Load the jobs on disk, start the worker and the dispatcher."""
        self._load_existing()
        self._start_worker()
        self._thread = threading.Thread(target=self._dispatch, name="partita-dispatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the dispatcher and the worker (jobs still waiting stay queued on disk)."""
        with self.lock:
            self._stopping = True
            self.lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._stop_worker()

    def submit(self, kind: str, request: dict[str, Any], client: str, job_id: str | None = None) -> Job:
        """Queue a job (its request already checked).

        Raises:
            QueueFull: ``max_queue`` jobs are waiting.
        """
        job_id = job_id or uuid.uuid4().hex
        with self.lock:
            if len(self.waiting) >= self.max_queue:
                raise QueueFull(f"the queue is full ({self.max_queue} jobs waiting); try again later")
            job = Job(job_id, kind, client, request, self.work_dir / client / "jobs" / job_id)
            job.folder.mkdir(parents=True, exist_ok=True)
            job.save()
            self.jobs[job_id] = job
            self.waiting.append(job_id)
            self.lock.notify_all()
        return job

    def get(self, job_id: str, client: str | None = None) -> Job | None:
        """The job, if it exists (and belongs to ``client`` when one is given)."""
        job = self.jobs.get(job_id)
        if job is None or (client is not None and job.client != client):
            return None
        return job

    def list(self, client: str) -> list[Job]:
        """A client's jobs, oldest first."""
        with self.lock:
            return sorted((j for j in self.jobs.values() if j.client == client), key=lambda j: j.created)

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a waiting one at once; a running one is asked to stop (and its worker
        killed if it does not within ``cancel_grace`` seconds)."""
        with self.lock:
            job = self.jobs[job_id]
            if job.status == "queued":
                self.waiting.remove(job_id)
                self._finish(job, "cancelled", message="cancelled before it started")
            elif job.status == "running":
                job.cancel_requested = True
                job.message = "cancelling"
                try:
                    self._conn.send(("cancel", job_id))
                except (OSError, ValueError, AttributeError):
                    pass   # the worker is gone: the dispatcher fails the job and starts another
                self.lock.notify_all()
            return job

    def health(self) -> dict[str, Any]:
        with self.lock:
            return {"status": "ok", "queue": len(self.waiting), "max_queue": self.max_queue,
                    "running": self.running, "worker_pid": self._proc.pid if self._proc else None,
                    "workers_started": self.workers_started}

    def wait_for(self, job_id: str, timeout: float) -> Job:
        """Block until the job ends or ``timeout`` seconds pass (tests and scripts)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.jobs[job_id].status not in TERMINAL:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(min(left, 0.5))
            return self.jobs[job_id]

    # ---- the worker

    def _start_worker(self) -> None:
        from partita.serve.worker import main

        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=main, args=(child, self.runner, self.warm, self.threads),
                                 name="partita-worker", daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        self.workers_started += 1

    def _stop_worker(self) -> None:
        proc, conn = self._proc, self._conn
        if proc is None:
            return
        try:
            conn.send(("stop",))
        except (OSError, ValueError):
            pass
        proc.join(timeout=1)
        if proc.is_alive():   # still starting up, or in a job: it holds nothing worth waiting for
            proc.kill()
            proc.join(timeout=5)
        conn.close()
        self._proc = self._conn = None

    def _restart_worker(self) -> None:
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()
        if proc is not None:
            proc.join(timeout=5)
            self._conn.close()
        self._proc = self._conn = None
        self._start_worker()

    # ---- the dispatcher thread

    def _dispatch(self) -> None:
        while True:
            with self.lock:
                while not self.waiting and not self._stopping:
                    self.lock.wait()
                if self._stopping:
                    return
                job = self.jobs[self.waiting.popleft()]
                self.running = job.id
                job.status, job.message = "running", "waiting for the worker"
                job.started = time.time()
                job.save()
                self.lock.notify_all()
            try:
                self._run(job)
            finally:
                with self.lock:
                    self.running = None
                    self.lock.notify_all()

    def _run(self, job: Job) -> None:
        with self.lock:   # a cancel sends on the same pipe: one writer at a time
            if self._proc is None or not self._proc.is_alive():
                self._restart_worker()
            try:
                self._conn.send(("run", job.id, job.request, str(job.folder)))
            except (OSError, ValueError):
                self._restart_worker()
                self._conn.send(("run", job.id, job.request, str(job.folder)))
        deadline = None          # the time limit counts from the worker's "started"
        cancel_deadline = None
        while True:
            if self._stopping:
                return
            now = time.monotonic()
            with self.lock:
                if job.cancel_requested and cancel_deadline is None:
                    cancel_deadline = now + self.cancel_grace
            if cancel_deadline is not None and now > cancel_deadline:
                with self.lock:
                    self._restart_worker()
                    self._finish(job, "cancelled", message="cancelled (the worker was stopped)")
                return
            if deadline is not None and now > deadline:
                with self.lock:
                    self._restart_worker()
                    self._finish(job, "failed", error=f"the job ran past the time limit of {self.job_timeout:g} s "
                                 "and was stopped")
                return
            try:
                message = self._conn.recv() if self._conn.poll(0.1) else None
                # a dead worker with nothing left to read (what it sent before dying is read first)
                crashed = message is None and not self._proc.is_alive() and not self._conn.poll(0)
            except (EOFError, OSError):
                message, crashed = None, True
            if crashed:
                code = self._proc.exitcode
                self._proc.join(timeout=1)
                code = self._proc.exitcode if code is None else code
                with self.lock:
                    self._restart_worker()
                    self._finish(job, "failed", error=f"the worker stopped (exit code {code}) while running this "
                                 "job; a new worker was started")
                return
            if message is None:
                continue
            kind = message[0]
            if kind == "ready" or len(message) < 2 or message[1] != job.id:
                continue
            with self.lock:
                if kind == "started":
                    deadline = time.monotonic() + self.job_timeout
                    job.message = "started"
                    job.save()
                elif kind == "progress":
                    job.progress, job.message = max(job.progress, message[2]), message[3]
                elif kind == "done":
                    job.files, job.report = message[2]["files"], message[2]["report"]
                    self._finish(job, "done", message="done")
                    return
                elif kind == "failed":
                    self._finish(job, "failed", error=message[2])
                    return
                elif kind == "cancelled":
                    self._finish(job, "cancelled", message="cancelled")
                    return
                self.lock.notify_all()

    def _finish(self, job: Job, status: str, *, message: str = "", error: str | None = None) -> None:
        """(with the lock held)"""
        if error:   # the user's file names, never the server's folders
            for root in {str(self.work_dir.resolve()), str(self.work_dir)}:
                error = re.sub(re.escape(root) + r"[^\s:'\"]*/", "", error)
        job.status, job.error, job.finished = status, error, time.time()
        job.message = message or (error or status)
        if status == "done":
            job.progress = 1.0
        job.save()
        self.lock.notify_all()

    def _load_existing(self) -> None:
        """Jobs of earlier runs, from their sidecars; one left queued or running by a server
        that stopped is marked failed."""
        for path in sorted(self.work_dir.glob(f"*/jobs/*/{SIDECAR}")):
            try:
                job = Job.load(path)
            except (OSError, ValueError, KeyError):
                continue
            if job.status not in TERMINAL:
                job.status, job.error = "failed", "the server stopped before this job finished"
                job.save()
            self.jobs[job.id] = job
