"""The ASGI app: the REST API of jobs and uploads, and the page.

``POST /api/jobs`` takes a job (:mod:`partita.jobs`: ``{"kind": "generate", "prompt": ...}``)
and answers 202 with its id; ``GET /api/jobs/{id}`` its status, progress, files and report;
``GET /api/jobs/{id}/events`` the same as server-sent events until it ends;
``GET /api/jobs/{id}/files/{name}`` one of its files; ``DELETE /api/jobs/{id}`` cancels it.
Files come in through ``POST /api/uploads`` and are named in a job by their id (``upload``),
or a job takes an earlier job's piece (``source``); no path in a request reaches the disk.
Each client (a cookie the page sets, or the ``X-Partita-Client`` header) has its own folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_args

from fastapi import Body, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from partita.errors import PartitaError
from partita.jobs import KINDS, MODELS, JobRequest
from partita.serve import uploads
from partita.serve.queue import TERMINAL, JobQueue, QueueFull

STATIC = Path(__file__).parent / "static"
CLIENT = re.compile(r"^[0-9a-f]{16,32}$")
PUBLIC = "public"
"""The folder of clients that send no id (curl, scripts)."""
JobBody = Annotated[get_args(JobRequest)[0], Body(discriminator="kind")]
"""A job in a request body: the union of the kinds' models, told apart by ``kind``."""
NEEDS_INPUT = {"accompany": "a melody", "infill": "a piece", "continue": "a piece", "theme": "a theme",
               "render": "a piece", "transcribe": "an audio file", "analyze": "a score or an audio file"}
MEDIA = {".mid": "audio/midi", ".musicxml": "application/vnd.recordare.musicxml+xml", ".abc": "text/vnd.abc",
         ".wav": "audio/wav", ".flac": "audio/flac", ".json": "application/json"}


def default_work_dir() -> Path:
    """``$PARTITA_CACHE/serve`` (by default ``~/.cache/partita/serve``)."""
    return Path(os.environ.get("PARTITA_CACHE", "~/.cache/partita")).expanduser() / "serve"


@dataclass
class Settings:
    """What ``partita serve`` can set.

    Attributes:
        work_dir: every client's uploads and job folders.
        max_queue: most jobs waiting; a client asking for more gets 429.
        job_timeout: seconds one job may run.
        max_upload_mb: largest upload.
        runner: the function the worker runs jobs with (``module:function``).
        warm: load the models when the worker starts.
        threads: torch threads in the worker.
        cancel_grace: seconds a cancelled job gets to stop before its worker is killed.
    """

    work_dir: Path | None = None
    max_queue: int = 16
    job_timeout: float = 600.0
    max_upload_mb: float = 20.0
    runner: str = "partita.jobs:run_job"
    warm: bool = True
    threads: int = 1
    cancel_grace: float = 2.0


def client_of(request: Request) -> str:
    """The client's id (header, then cookie), or :data:`PUBLIC`."""
    for value in (request.headers.get("x-partita-client"), request.cookies.get("partita_client")):
        if value and CLIENT.match(value):
            return value
    return PUBLIC


def _validation_line(exc: RequestValidationError) -> str:
    err = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body",) and str(p) not in KINDS]
    kind = next((str(p) for p in err.get("loc", ()) if str(p) in KINDS), None)
    msg = err.get("msg", "invalid")
    if str(err.get("type", "")).startswith("union_tag"):
        return f"unknown job kind (one of {', '.join(KINDS)})"
    where = ".".join(loc) or "request"
    return f"{kind + ': ' if kind else ''}{where}: {msg}"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; its job queue (and worker process) starts with the app's lifespan."""
    settings = settings or Settings()
    work_dir = Path(settings.work_dir or default_work_dir())
    work_dir.mkdir(parents=True, exist_ok=True)
    queue = JobQueue(work_dir, max_queue=settings.max_queue, job_timeout=settings.job_timeout,
                     runner=settings.runner, warm=settings.warm, cancel_grace=settings.cancel_grace,
                     threads=settings.threads)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        queue.start()
        try:
            yield
        finally:
            await asyncio.to_thread(queue.stop)

    app = FastAPI(title="partita workbench", version=_version(), lifespan=lifespan,
                  description="Jobs over partita's pipelines: generate, accompany, infill, continue, abc, theme, "
                              "render, transcribe, analyze.")
    app.state.queue = queue
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_line(exc)}, status_code=400)

    @app.exception_handler(PartitaError)
    async def partita_error(request: Request, exc: PartitaError) -> JSONResponse:
        return JSONResponse({"detail": " ".join(str(exc).split())}, status_code=400)

    def job_of(job_id: str, request: Request):  # noqa: ANN202 - a queue.Job
        job = queue.get(job_id, client_of(request)) if uploads.ID.match(job_id) else None
        if job is None:
            raise HTTPException(404, f"no job {job_id[:40]!r}")
        return job

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        """``{"status": "ok", "queue": jobs waiting, "max_queue": m, ...}``"""
        return queue.health()

    @app.get("/api/kinds")
    def kinds() -> dict[str, Any]:
        """The request schema (with defaults) of every job kind."""
        return {kind: MODELS[kind].model_json_schema() for kind in KINDS}

    @app.post("/api/parse")
    def parse(body: Annotated[dict[str, Any], Body(examples=[{"prompt": "a jig in D for fiddle", "seed": 0}])]
              ) -> dict[str, Any]:
        """What a prompt is read as (key, meter, tempo, instruments, bars, style, chords, and the
        parser's notes), open fields filled by the style's defaults (unless ``fill`` is false);
        without the sentence embedding a generate job may use to match unknown words to styles."""
        from pretty_midi import program_to_instrument_name

        from partita.text.parse import parse_prompt
        from partita.theory import key_to_name

        prompt, seed, fill = body.get("prompt", ""), body.get("seed", 0), body.get("fill", True)
        if not isinstance(prompt, str) or len(prompt) > 2000 or not isinstance(seed, int) or not isinstance(fill, bool):
            raise HTTPException(400, "give a prompt (text, at most 2000 characters), an integer seed and fill true/false")
        attrs = parse_prompt(prompt, seed=seed, fill=fill, use_embeddings=False)
        data = attrs.to_dict()
        data["key_name"] = key_to_name(*attrs.key) if attrs.key else None
        data["instrument_names"] = ["drums" if p == 128 else program_to_instrument_name(p)
                                    for p in attrs.instruments or ()]
        return data

    @app.post("/api/uploads", status_code=201)
    async def upload(request: Request, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        """A file for later jobs (MIDI, MusicXML, ABC, WAV/FLAC, a JSON/YAML description):
        ``{"id", "name", "size"}``; 413 over the size limit, 400 for a file partita cannot read."""
        limit = int(settings.max_upload_mb * 1024 * 1024)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit + 64 * 1024:
            raise HTTPException(413, f"upload too large (limit {settings.max_upload_mb:g} MB)")
        name = uploads.display_name(file.filename)
        suffix = uploads.suffix_of(name)
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"{name}: upload too large (limit {settings.max_upload_mb:g} MB)")
        uploads.sniff(name, suffix, data[:4096])
        if suffix == ".json":
            uploads.check_description(name, data)
        import uuid

        from partita.fileio import atomic_path

        upload_id = uuid.uuid4().hex
        # the user's own file name (made safe) keeps the job's error messages in their words
        dest = work_dir / client_of(request) / "uploads" / upload_id / f"{Path(name).stem or 'upload'}{suffix}"
        with atomic_path(dest) as tmp:
            tmp.write_bytes(data)
        return {"id": upload_id, "name": name, "size": len(data)}

    @app.post("/api/jobs", status_code=202)
    def submit(request: Request, job: JobBody) -> dict[str, Any]:
        """Queue a job; 202 with ``{"id", "status": "queued", ...}``, 400 for a bad request,
        429 when the queue is full."""
        client = client_of(request)
        for name in type(job).PATH_FIELDS:
            if getattr(job, name, None) is not None:
                raise HTTPException(400, f"{job.kind}: {name}: file paths are not taken over HTTP; send files to "
                                    "/api/uploads and give their id as `upload`")
        data = job.model_dump()
        data["input"] = str(_resolve_input(job, client)) if (job.upload or job.source) else None
        if job.kind in NEEDS_INPUT and data["input"] is None:
            raise HTTPException(400, f"{job.kind}: give {NEEDS_INPUT[job.kind]} (`upload` id or `source` job)")
        try:
            queued = queue.submit(job.kind, data, client)
        except QueueFull as exc:
            raise HTTPException(429, str(exc)) from None
        return queued.public()

    def _resolve_input(job: Any, client: str) -> Path:
        if job.upload and job.source:
            raise HTTPException(400, f"{job.kind}: give `upload` or `source`, not both")
        if job.upload:
            path = uploads.upload_path(work_dir / client, job.upload)
            if path is None:
                raise HTTPException(400, f"{job.kind}: upload {job.upload[:40]!r}: no such upload")
            return path
        if job.kind == "generate":
            raise HTTPException(400, "generate: a description comes as an `upload`, not from a job")
        earlier = queue.get(job.source, client) if uploads.ID.match(job.source) else None
        if earlier is None or earlier.status != "done":
            raise HTTPException(400, f"{job.kind}: source {job.source[:40]!r}: no finished job with that id")
        wanted = ("wav", "flac") if job.kind == "transcribe" else ("midi",)
        name = next((earlier.files[k] for k in wanted if k in earlier.files), None)
        if name is None:
            raise HTTPException(400, f"{job.kind}: source {job.source}: that job has no "
                                f"{'audio' if job.kind == 'transcribe' else 'piece'}")
        return earlier.folder / name

    @app.get("/api/jobs")
    def list_jobs(request: Request) -> list[dict[str, Any]]:
        """This client's jobs, oldest first."""
        return [j.public() for j in queue.list(client_of(request))]

    @app.get("/api/jobs/{job_id}")
    def status(job_id: str, request: Request) -> dict[str, Any]:
        """``{"id", "kind", "status": queued|running|done|failed|cancelled, "progress": 0..1,
        "error": null|"one line", "files": {...}, "report": {...}, ...}``"""
        return job_of(job_id, request).public()

    @app.delete("/api/jobs/{job_id}")
    def cancel(job_id: str, request: Request) -> dict[str, Any]:
        """Cancel a waiting or running job (409 if it has ended)."""
        job = job_of(job_id, request)
        if job.status in TERMINAL:
            raise HTTPException(409, f"job {job_id} has already ended ({job.status})")
        return queue.cancel(job.id).public()

    @app.get("/api/jobs/{job_id}/events")
    async def events(job_id: str, request: Request) -> StreamingResponse:
        """Server-sent events: the job's status each time it changes, until it ends."""
        job = job_of(job_id, request)

        async def stream():  # noqa: ANN202
            last = None
            while True:
                data = json.dumps(job.public(), default=str)
                if data != last:
                    yield f"event: status\ndata: {data}\n\n"
                    last = data
                if job.status in TERMINAL or await request.is_disconnected():
                    return
                await asyncio.sleep(0.2)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/jobs/{job_id}/files/{name}")
    def result_file(job_id: str, name: str, request: Request, download: bool = False) -> FileResponse:
        """One of the job's files, by the name its ``files`` gives."""
        job = job_of(job_id, request)
        if name not in job.files.values():
            raise HTTPException(404, f"job {job_id} has no file {name[:80]!r}")
        path = (job.folder / name).resolve()
        if path.parent != job.folder.resolve() or not path.is_file():
            raise HTTPException(404, f"job {job_id} has no file {name[:80]!r}")
        return FileResponse(path, media_type=MEDIA.get(path.suffix.lower(), "application/octet-stream"),
                            filename=name if download else None,
                            content_disposition_type="attachment" if download else "inline")

    @app.get("/api/jobs/{job_id}/notation")
    def notation(job_id: str, request: Request) -> dict[str, Any]:
        """The job's piece engraved by verovio: ``{"pages": [svg, ...]}`` (cached beside it)."""
        from partita.fileio import atomic_path
        from partita.serve.notation import engrave

        job = job_of(job_id, request)
        if "musicxml" not in job.files:
            raise HTTPException(404, f"job {job_id} has no score")
        cache = job.folder / "notation.json"
        if cache.is_file():
            return json.loads(cache.read_text())
        data = {"pages": engrave(job.folder / job.files["musicxml"])}
        with atomic_path(cache) as tmp:
            tmp.write_text(json.dumps(data))
        return data

    return app


def _version() -> str:
    from partita import __version__

    return __version__
