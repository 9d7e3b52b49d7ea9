"""One request model per job kind, and :func:`run_job`, which runs one job into a folder.

The web workbench (:mod:`partita.serve`) and ``partita batch`` describe work as jobs: a JSON
object with a ``kind`` and that kind's options::

    {"kind": "generate", "prompt": "a jig in D major for fiddle", "seed": 7}
    {"kind": "infill", "input": "jig.mid", "start_bar": 5, "end_bar": 8}

:func:`parse_job` checks such an object against the kind's pydantic model (unknown options
and out-of-range values are one-line errors) and :func:`run_job` runs it by calling the same
Python API as the CLI verb of the same name, writing its files atomically into a folder.

Defaults are defined once: a model's defaults are read from the CLI's own parser
(:func:`cli_defaults`), whose options in turn leave the API records' defaults in place
(``GenerateRequest``, ``SamplingConfig``) by staying None; here too, None means "the API's
default". Nothing here imports a web framework; torch is imported only when a job runs.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from partita.errors import InputError, PartitaError

KINDS = ("generate", "accompany", "infill", "continue", "abc", "theme", "render", "transcribe", "analyze")
"""Every job kind, in the order the CLI lists the verbs."""

PIECE_KINDS = ("generate", "accompany", "infill", "continue", "abc", "theme", "transcribe")
"""The kinds whose result is a piece (MIDI, MusicXML, ABC, piano roll, optionally audio)."""

Progress = Callable[[float, str], None]
"""``progress(fraction 0..1, what is happening)``; it may raise to stop the job (a cancel)."""

_CLI_ARGV = {
    "generate": ["generate"],
    "analyze": ["analyze", "x"],
    "abc": ["abc", "x", "-o", "x"],
}


@functools.cache
def cli_defaults(verb: str) -> dict[str, Any]:
    """The defaults of a CLI verb's options, read from ``partita.cli``'s parser (which imports
    nothing heavy): the job models take theirs from here, so the two cannot drift apart."""
    from partita.cli import build_parser

    argv = _CLI_ARGV.get(verb, [verb, "x", "-o", "x"])
    return vars(build_parser().parse_args(argv))


def _gen_default(name: str) -> Any:
    from partita.compose.text_to_midi import GenerateRequest

    return next(f.default for f in dataclass_fields(GenerateRequest) if f.name == name)


def _cli(verb: str, name: str) -> Any:
    return cli_defaults(verb)[name]


Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
TopP = Annotated[float, Field(gt=0, le=1)]
Temperature = Annotated[float, Field(gt=0, le=10)]


class JobBase(BaseModel):
    """What every job has: where its input file is, and how the web names one.

    Attributes:
        input: a file path (``partita batch``, the Python API); the web server never takes
            paths from a request: it fills this from ``upload`` or ``source``.
        upload: (web) the id of a file sent to ``POST /api/uploads``.
        source: (web) the id of an earlier job whose piece is the input (the page's current
            version).
        tune: an ABC input holding several tunes: the ``X:`` number to read.
    """

    model_config = ConfigDict(extra="forbid")
    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("input",)
    """Fields that name files on the machine: accepted from files and the Python API, refused
    over HTTP."""

    input: str | None = None
    upload: str | None = Field(None, max_length=64)
    source: str | None = Field(None, max_length=64)
    tune: int | None = Field(None, ge=0)


class RenderOptions(BaseModel):
    """Audio for a piece job: ``render`` writes a WAV with ``engine`` (the page asks for it)."""

    render: bool = False
    engine: Literal["soundfont", "fluidsynth", "ddsp"] = Field(_cli("render", "engine"))


class AmtOptions(BaseModel):
    """The anticipatory model's options (``partita accompany/infill/continue``): sampling left
    None takes :class:`partita.sampling.SamplingConfig`'s defaults."""

    model: str | None = None
    seed: Seed | None = None
    top_p: TopP | None = None
    temperature: Temperature | None = None
    free: bool = False


class GenerateJob(JobBase, RenderOptions):
    """``partita generate``: text (or edited attributes, or a per-bar description) to a piece.

    ``input`` (or ``upload``) is a description file (JSON/YAML); ``description`` the same
    inline; ``attributes`` (key, meter, tempo, instruments, bars, style, chords as
    :class:`partita.text.attributes.Attributes` writes them) replaces what the prompt was
    read as, open fields filled by the style's defaults.
    """

    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("input", "model")
    kind: Literal["generate"] = "generate"
    prompt: str = Field("", max_length=2000)
    seed: Seed = Field(_gen_default("seed"))
    bars: int | None = Field(None, ge=1, le=256)
    candidates: int = Field(_gen_default("candidates"), ge=1, le=32)
    use_embeddings: bool = Field(_gen_default("use_embeddings"))
    writer: Literal["auto", "tune", "chorale", "figaro", "arranger"] = Field(_gen_default("writer"))
    arranger_only: bool = False
    model: str | None = None
    attributes: dict[str, Any] | None = None
    description: dict[str, Any] | None = None


class AccompanyJob(JobBase, AmtOptions, RenderOptions):
    """``partita accompany``: the melody kept, an accompaniment written under it."""

    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("input", "model")
    kind: Literal["accompany"] = "accompany"
    instruments: str | None = Field(None, max_length=200, description="e.g. piano,bass")
    candidates: int = Field(_cli("accompany", "candidates"), ge=1, le=32)


class InfillJob(JobBase, AmtOptions, RenderOptions):
    """``partita infill``: bars ``start_bar``..``end_bar`` (1-based, inclusive) or seconds
    ``start``..``end`` regenerated, the rest kept."""

    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("input", "model")
    kind: Literal["infill"] = "infill"
    start_bar: int | None = Field(None, ge=1)
    end_bar: int | None = Field(None, ge=1)
    start: float | None = Field(None, ge=0)
    end: float | None = Field(None, gt=0)


class ContinueJob(JobBase, AmtOptions, RenderOptions):
    """``partita continue``: ``bars`` (or ``seconds``) more after the piece."""

    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("input", "model")
    kind: Literal["continue"] = "continue"
    bars: int | None = Field(None, ge=1, le=256)
    seconds: float | None = Field(None, gt=0, le=600)
    instruments: str | None = Field(None, max_length=200)


class AbcJob(JobBase, RenderOptions):
    """``partita abc``: an ABC tune from a prompt, with a form (``AABB``...)."""

    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("input", "model")
    kind: Literal["abc"] = "abc"
    prompt: str = Field(..., min_length=1, max_length=2000)
    sections: int | None = Field(None, ge=1, le=8)
    bars_per_section: int | None = Field(None, ge=1, le=32)
    form: str | None = Field(None, pattern=r"^[A-Za-z]{1,8}$")
    phrase_repeats: bool = True
    candidates: int = Field(_cli("abc", "candidates"), ge=1, le=32)
    seed: Seed = Field(_cli("abc", "seed"))
    top_p: TopP = Field(_cli("abc", "top_p"))
    temperature: Temperature = Field(_cli("abc", "temperature"))
    model: str | None = None


class ThemeJob(JobBase, RenderOptions):
    """``partita theme``: a melody in which the theme (the input) returns every ``every`` bars."""

    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("input", "model")
    kind: Literal["theme"] = "theme"
    bars: int = Field(_cli("theme", "bars"), ge=1, le=128)
    every: int = Field(_cli("theme", "every"), ge=1, le=128)
    variation: float = Field(_cli("theme", "variation"), ge=0, le=1)
    guard: bool = True
    seed: Seed = Field(_cli("theme", "seed"))
    top_p: TopP = Field(_cli("theme", "top_p"))
    temperature: Temperature = Field(_cli("theme", "temperature"))
    model: str | None = None


class RenderJob(JobBase):
    """``partita render``: the piece to audio (WAV, or FLAC with ``format``)."""

    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("input", "soundfont")
    kind: Literal["render"] = "render"
    engine: Literal["soundfont", "fluidsynth", "ddsp"] = Field(_cli("render", "engine"))
    soundfont: str | None = None
    sample_rate: int = Field(_cli("render", "sample_rate"), ge=8000, le=192000)
    humanize: bool = True
    seed: Seed = Field(_cli("render", "seed"))
    format: Literal["wav", "flac"] = "wav"


class TranscribeJob(JobBase, RenderOptions):
    """``partita transcribe``: audio (WAV/FLAC) to notes with Basic Pitch."""

    kind: Literal["transcribe"] = "transcribe"
    onset_threshold: float = Field(_cli("transcribe", "onset_threshold"), gt=0, lt=1)
    frame_threshold: float = Field(_cli("transcribe", "frame_threshold"), gt=0, lt=1)


class AnalyzeJob(JobBase):
    """``partita analyze``: key, tempo, meter, chords... of a score, or tempo and key of audio."""

    kind: Literal["analyze"] = "analyze"
    profile: Literal["aarden", "krumhansl", "temperley", "bellman", "simple"] = Field(
        _cli("analyze", "profile"))
    chords: bool = True


JobRequest = Annotated[GenerateJob | AccompanyJob | InfillJob | ContinueJob | AbcJob | ThemeJob | RenderJob
                       | TranscribeJob | AnalyzeJob, Field(discriminator="kind")]
MODELS: dict[str, type[JobBase]] = {
    "generate": GenerateJob, "accompany": AccompanyJob, "infill": InfillJob, "continue": ContinueJob,
    "abc": AbcJob, "theme": ThemeJob, "render": RenderJob, "transcribe": TranscribeJob, "analyze": AnalyzeJob,
}
"""The request model of each kind."""
_ADAPTER = TypeAdapter(JobRequest)


def parse_job(data: dict[str, Any]) -> JobBase:
    """The job's request model, checked.

    Raises:
        PartitaError: one line naming the kind, the option and what is wrong with it.
    """
    if not isinstance(data, dict):
        raise PartitaError("a job is a JSON object with a `kind`")
    kind = data.get("kind")
    if kind not in MODELS:
        raise PartitaError(f"unknown job kind {kind!r} (one of {', '.join(KINDS)})")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"] if p != kind) or "request"
        raise PartitaError(f"{kind}: {where}: {err['msg']}") from None


# ---------------------------------------------------------------- running


def _no_progress(fraction: float, message: str) -> None:
    pass


@functools.lru_cache(maxsize=4)
def load_model(name: str, folder: str | None = None) -> Any:
    """A model (``"amt"``, ``"abc"``, ``"theme"``), loaded once per process and kept: a warm
    worker answers its next job without reading the weights again."""
    from partita import checkpoints

    if name == "amt":
        from partita.symbolic.amt.model import load

        path = Path(folder) if folder else checkpoints.folder("amt")
        if not (path / "config.json").exists():
            raise PartitaError(f"{path}: no anticipatory checkpoint here; train one with "
                               "`partita train anticipatory` or pass a model folder (e.g. a released AMT folder)")
        return load(path)[0]
    return checkpoints.load(name, folder)[0]


def warm() -> None:
    """Import the pipelines and load the shipped models a job needs, so that the first job
    runs as fast as the next (the web server's worker calls this once when it starts)."""
    import torch  # noqa: F401 - the import is the point

    import partita.compose.accompany  # noqa: F401
    import partita.compose.text_to_midi  # noqa: F401
    from partita import checkpoints

    for name in ("amt", "abc", "theme"):
        if checkpoints.exists(name):
            load_model(name)
    try:   # the sentence encoder that matches a prompt's unknown words to styles (cached by text.embed)
        from partita.text.embed import nearest_styles

        nearest_styles("warm")
    except PartitaError:   # the `text` extra is not installed: generate runs without it
        pass


def _input(request: JobBase, what: str) -> Path:
    if not request.input:
        raise PartitaError(f"{request.kind}: give {what} (input)")
    from partita.fileio import existing_file

    return existing_file(request.input)


def _read(request: JobBase, what: str):  # noqa: ANN202 - a Score
    from partita.score import read

    return read(_input(request, what), tune=request.tune)


def _sampling(request: AmtOptions):  # noqa: ANN202 - a SamplingConfig
    from partita.sampling import SamplingConfig

    given = {k: getattr(request, k) for k in ("top_p", "temperature", "seed") if getattr(request, k) is not None}
    return SamplingConfig(**given)


def _instruments(text: str | None) -> list[int] | None:
    from partita.text.parse import instrument_list

    return instrument_list(text, option="instruments")


def piano_roll(score) -> dict[str, Any]:  # noqa: ANN001 - a Score
    """The notes for a piano-roll view (what the page draws): ticks per quarter, bar starts and
    each track's notes as ``[onset tick, duration ticks, pitch, velocity]``, and the tempo map's
    seconds at every bar start."""
    from partita.mir.metrics import bar_starts
    from partita.score import TempoMap, duration_seconds

    starts = bar_starts(score) if score.note_num() else [0]
    tmap = TempoMap(score)
    sigs = sorted(score.time_signatures, key=lambda t: t.time)
    return {
        "tpq": int(score.ticks_per_quarter),
        "end": int(score.end()),
        "seconds": round(duration_seconds(score), 3),
        "bars": [int(t) for t in starts],
        "bar_seconds": [round(tmap.to_seconds(t), 4) for t in starts],
        "meter": f"{sigs[0].numerator}/{sigs[0].denominator}" if sigs else "4/4",
        "qpm": round(float(score.tempos[0].qpm), 2) if len(score.tempos) else 120.0,
        "tracks": [{"name": t.name, "program": int(t.program), "drum": bool(t.is_drum),
                    "notes": [[int(n.time), int(n.duration), int(n.pitch), int(n.velocity)] for n in t.notes]}
                   for t in score.tracks if len(t.notes)],
    }


def _write_json(path: Path, data: Any) -> Path:
    from partita.fileio import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, default=str))
    return path


def write_piece(score, out_dir: Path, stem: str, *, files: dict[str, str] | None = None,  # noqa: ANN001
                render: bool = False, engine: str = "soundfont", seed: int = 0,
                progress: Progress = _no_progress) -> dict[str, str]:
    """Write a piece as MIDI, MusicXML, ABC, piano-roll JSON (and WAV with ``render``) into
    ``out_dir``; ``files`` already written (by the pipeline's own writer) are kept. Returns
    {format: file name}; ABC is left out when midi2abc cannot write the score."""
    from partita.score import score_to_abc, write

    files = dict(files or {})
    for key, suffix in (("midi", ".mid"), ("musicxml", ".musicxml")):
        if key not in files:
            files[key] = write(score, out_dir / f"{stem}{suffix}").name
    if "abc" not in files:
        try:
            text = score_to_abc(score, title=stem)
        except Exception:  # noqa: BLE001 - midi2abc fails on some scores; the other exports stand
            text = None
        if text:
            from partita.fileio import atomic_path

            with atomic_path(out_dir / f"{stem}.abc") as tmp:
                tmp.write_text(text, encoding="utf-8")
            files["abc"] = f"{stem}.abc"
    files["roll"] = _write_json(out_dir / f"{stem}.roll.json", piano_roll(score)).name
    if render and "wav" not in files:
        from partita.audio_render import render_to_file

        progress(0.9, f"rendering audio ({engine})")
        files["wav"] = render_to_file(score, out_dir / f"{stem}.wav", engine=engine, seed=seed).name
    return files


def run_job(request: JobBase | dict[str, Any], out_dir: str | Path, progress: Progress | None = None
            ) -> dict[str, Any]:
    """Run one job and write its files atomically into ``out_dir``.

    Args:
        request: a job model (or its JSON object, checked by :func:`parse_job`); its input
            file is ``request.input``.
        out_dir: the folder for the files (made if missing).
        progress: called as ``progress(fraction, message)`` at each stage; an exception it
            raises stops the job there (a cancel).

    Returns:
        ``{"files": {format: file name in out_dir}, "report": {...}}``; the report holds the
        request (its seed included), what was measured, and ``"seconds"``.

    Raises:
        PartitaError: bad input, one line (as the CLI prints it).
    """
    if isinstance(request, dict):
        request = parse_job(request)
    progress = progress or _no_progress
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    progress(0.0, f"{request.kind}: starting")
    files, report = RUNNERS[request.kind](request, out, progress)
    report = {"kind": request.kind, "request": request.model_dump(exclude={"input"}), **report,
              "seconds": round(time.perf_counter() - t0, 3)}
    if "report" not in files:
        files["report"] = _write_json(out / f"{request.kind}.report.json", report).name
    progress(1.0, "done")
    return {"files": files, "report": report}


def _run_generate(request: GenerateJob, out: Path, progress: Progress) -> tuple[dict, dict]:
    from partita.compose.text_to_midi import GenerateRequest, generate, slug, write_generation
    from partita.text.attributes import Attributes

    description = request.description
    if request.input or request.upload or request.source:
        from partita.compose.description_file import read_description

        description = read_description(_input(request, "a description file"))
    options: dict[str, Any] = {"seed": request.seed, "bars": request.bars, "candidates": request.candidates,
                               "use_embeddings": request.use_embeddings, "writer": request.writer}
    if request.model:
        options["model"] = request.model
    if request.arranger_only:
        options.update(model=None, writer="arranger")
    prompt: str | Attributes = request.prompt
    if request.attributes is not None:
        if description is not None:
            raise PartitaError("generate: give edited attributes or a description, not both")
        prompt = Attributes.from_dict({k: v for k, v in request.attributes.items() if k != "notes"})
    progress(0.05, f"writing {request.candidates} candidate{'s' * (request.candidates > 1)} and reranking them")
    try:
        gen = generate(GenerateRequest(prompt, description=description, **options))
    except ValueError as exc:   # the request's own checks (bars with a description, writer names)
        raise PartitaError(f"generate: {exc}") from None
    progress(0.8, "writing files")
    stem = slug(request.prompt or "piece")
    paths = write_generation(gen, out, render=False, name=stem)
    files = {"midi": paths["midi"].name, "musicxml": paths["musicxml"].name, "report": paths["json"].name}
    files = write_piece(gen.score, out, stem, files=files, render=request.render, engine=request.engine,
                        seed=gen.seed, progress=progress)
    data = gen.to_dict()
    data["attribute_notes"] = list(gen.attributes.notes)
    data["writers"] = gen.writers or {}
    if "wav" in files:   # the report file says where its audio is, as the CLI's does
        data["audio"] = files["wav"]
    _write_json(out / files["report"], data)
    return files, data


def _run_accompany(request: AccompanyJob, out: Path, progress: Progress) -> tuple[dict, dict]:
    from partita.compose.accompany import accompany_best

    melody = _read(request, "a melody file")
    instruments = _instruments(request.instruments)
    progress(0.05, "loading the anticipatory model")
    model = load_model("amt", request.model)
    progress(0.15, f"writing {request.candidates} accompaniment{'s' * (request.candidates > 1)}")
    config = _sampling(request)
    best, candidates = accompany_best(model, melody, candidates=request.candidates, instruments=instruments,
                                      config=config, guided=not request.free)
    score = best.value
    added = sum(len(t.notes) for t in score.tracks[len(melody.tracks):])
    files = write_piece(score, out, "accompany", render=request.render, engine=request.engine, seed=config.seed,
                        progress=progress)
    return files, {"seed": config.seed, "candidate_seed": best.seed, "melody_notes": melody.note_num(),
                   "added_notes": added, **best.report,
                   "candidates": [c.report for c in candidates], "summary": _summary(score)}


def _run_infill(request: InfillJob, out: Path, progress: Progress) -> tuple[dict, dict]:
    from partita.compose.accompany import infill, span_seconds

    piece = _read(request, "a piece")
    start_s, end_s = span_seconds(piece, request.start_bar, request.end_bar, request.start, request.end)
    progress(0.05, "loading the anticipatory model")
    model = load_model("amt", request.model)
    progress(0.15, f"regenerating {start_s:.2f}-{end_s:.2f} s")
    config = _sampling(request)
    score = infill(model, piece, start_s, end_s, config=config, guided=not request.free)
    files = write_piece(score, out, "infill", render=request.render, engine=request.engine, seed=config.seed,
                        progress=progress)
    return files, {"seed": config.seed, "start_seconds": round(start_s, 3), "end_seconds": round(end_s, 3),
                   "bars": [request.start_bar, request.end_bar], "summary": _summary(score)}


def _run_continue(request: ContinueJob, out: Path, progress: Progress) -> tuple[dict, dict]:
    from partita.compose.accompany import continue_piece, seconds_of_bars

    piece = _read(request, "a piece")
    if request.bars is not None:
        seconds = seconds_of_bars(piece, request.bars)
    elif request.seconds is not None:
        seconds = request.seconds
    else:
        raise PartitaError("continue: give bars or seconds")
    instruments = _instruments(request.instruments)
    progress(0.05, "loading the anticipatory model")
    model = load_model("amt", request.model)
    progress(0.15, f"writing {seconds:.1f} s more")
    config = _sampling(request)
    score = continue_piece(model, piece, seconds, instruments=instruments, config=config, guided=not request.free)
    files = write_piece(score, out, "continue", render=request.render, engine=request.engine, seed=config.seed,
                        progress=progress)
    return files, {"seed": config.seed, "seconds_added": round(seconds, 3),
                   "new_notes": score.note_num() - piece.note_num(), "summary": _summary(score)}


def _run_abc(request: AbcJob, out: Path, progress: Progress) -> tuple[dict, dict]:
    from partita.compose.tunes import compose, request_from_prompt
    from partita.fileio import atomic_path
    from partita.symbolic.abc.model import BarPatchModel
    from partita.tokenizers.abc import to_score

    tune_request, notes = request_from_prompt(request.prompt, sections=request.sections,
                                              bars_per_section=request.bars_per_section, form=request.form,
                                              seed=request.seed, phrase_repeats=request.phrase_repeats)
    progress(0.05, "loading the ABC model")
    model = load_model("abc", request.model)
    if not isinstance(model, BarPatchModel):
        raise PartitaError(f"{request.model}: a flat baseline model; abc needs the bar-patch model")
    progress(0.1, f"writing {request.candidates} tune{'s' * (request.candidates > 1)}")
    result = compose(model, tune_request, candidates=request.candidates, seed=request.seed, top_p=request.top_p,
                     temperature=request.temperature)
    if not result.report.get("parses"):
        raise PartitaError(f"none of {request.candidates} tunes parsed ({result.report.get('error', '')}); "
                           "try more candidates or another seed")
    with atomic_path(out / "tune.abc") as tmp:
        tmp.write_text(f"X:1\nT:{request.prompt.strip()[:60]}\n" + result.text)
    score = to_score(result.text)
    files = write_piece(score, out, "tune", files={"abc": "tune.abc"}, render=request.render,
                        engine=request.engine, seed=request.seed, progress=progress)
    r = result.report
    return files, {"seed": request.seed, "assumed": notes, "check": r, "candidates": result.candidates,
                   "asked": {"sections": tune_request.sections, "bars_per_section": tune_request.bars_per_section,
                             "form": tune_request.form, "key": tune_request.key_field(),
                             "meter": "/".join(map(str, tune_request.meter))},
                   "summary": _summary(score)}


def _run_theme(request: ThemeJob, out: Path, progress: Progress) -> tuple[dict, dict]:
    from partita.symbolic.theme.data import to_score
    from partita.symbolic.theme.retrieval import melody_notes
    from partita.symbolic.theme.sample import generate

    theme = _read(request, "a theme file")
    progress(0.05, "loading the theme model")
    model = load_model("theme", request.model)
    notes = melody_notes(theme)
    sigs = sorted(theme.time_signatures, key=lambda t: t.time)
    meter = (sigs[0].numerator, sigs[0].denominator) if sigs else (4, 4)
    qpm = theme.tempos[0].qpm if len(theme.tempos) else 100.0
    progress(0.15, f"writing {request.bars} bars, the theme every {request.every}")
    melody = generate(model, notes, bars=request.bars, beats_per_bar=meter[0] * 4 / meter[1], every=request.every,
                      seed=request.seed, top_p=request.top_p, temperature=request.temperature, guard=request.guard,
                      variation=request.variation)
    program = next((t.program for t in theme.tracks if not t.is_drum), 73)
    score = to_score(melody, meter, qpm, program)
    files = write_piece(score, out, "theme", render=request.render, engine=request.engine, seed=request.seed,
                        progress=progress)
    return files, {"seed": request.seed, "theme_notes": len(notes), "notes": len(melody), "bars": request.bars,
                   "every": request.every, "summary": _summary(score)}


def _run_render(request: RenderJob, out: Path, progress: Progress) -> tuple[dict, dict]:
    from partita.audio_render import render_to_file

    score = _read(request, "a piece")
    progress(0.1, f"rendering ({request.engine})")
    name = f"render-{request.engine}.{request.format}"
    render_to_file(score, out / name, engine=request.engine, soundfont=request.soundfont,
                   sample_rate=request.sample_rate, humanize=1.0 if request.humanize else 0, seed=request.seed)
    import soundfile

    info = soundfile.info(str(out / name))
    return {request.format: name}, {"seed": request.seed, "engine": request.engine,
                                    "audio_seconds": round(info.duration, 3), "sample_rate": info.samplerate,
                                    "summary": _summary(score)}


def _run_transcribe(request: TranscribeJob, out: Path, progress: Progress) -> tuple[dict, dict]:
    from partita.mir.transcribe import transcribe

    path = _input(request, "an audio file")
    progress(0.1, "transcribing (Basic Pitch)")
    score = transcribe(path, onset_threshold=request.onset_threshold, frame_threshold=request.frame_threshold)
    if score.note_num() == 0:
        raise InputError(path.name, "no notes found in the audio; nothing written")
    files = write_piece(score, out, "transcription", render=request.render, engine=request.engine,
                        progress=progress)
    return files, {"notes": int(score.note_num()), "summary": _summary(score)}


def _run_analyze(request: AnalyzeJob, out: Path, progress: Progress) -> tuple[dict, dict]:
    from partita.cli import AUDIO_SUFFIXES

    path = _input(request, "a score or an audio file")
    progress(0.1, "analysing")
    if path.suffix.lower() in AUDIO_SUFFIXES:
        from dataclasses import asdict

        from partita.mir.audio import analyze_audio, load_audio

        audio, sr = load_audio(path)
        return {}, {"audio": True, "sample_rate": sr, **asdict(analyze_audio(audio, sr))}
    from partita.mir.analysis import analyze, describe
    from partita.score import read

    result = analyze(read(path, tune=request.tune), profile=request.profile, chords=request.chords)
    return {}, {"audio": False, **result.to_dict(), "lines": describe(result)}


def _summary(score) -> dict[str, Any]:  # noqa: ANN001 - a Score
    from partita.score import summary

    return summary(score)


RUNNERS: dict[str, Callable[[Any, Path, Progress], tuple[dict, dict]]] = {
    "generate": _run_generate, "accompany": _run_accompany, "infill": _run_infill, "continue": _run_continue,
    "abc": _run_abc, "theme": _run_theme, "render": _run_render, "transcribe": _run_transcribe,
    "analyze": _run_analyze,
}
