"""The ``partita`` command: a few lines per verb over the Python API.

Each verb has an ``add_<verb>(subparsers)`` function that declares its options, next to the
``_<verb>(args)`` function that runs it; :func:`build_parser` only calls the ``add_``
functions. Arguments are parsed before anything heavy is imported (each verb imports what
it needs when it runs), so ``partita --help`` is instant. Where a verb's options mirror an
API record (``GenerateRequest``, ``SamplingConfig``), an option left out stays None here and
the record's own default applies: defaults are defined once, in the API.
Every failure a user can cause prints one line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from partita.tokenizers import NAMES as TOKENIZER_NAMES

EXIT_USAGE = 2
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")
WRITERS = ("auto", "tune", "chorale", "figaro", "arranger")
"""``--writer`` choices: partita.compose.text_to_midi.WRITERS, repeated here so that the
parser needs no import (tests/test_cli_imports.py checks that the two agree)."""


def given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The options among ``names`` that the user gave (not None): passed on as keywords,
    they leave the API's own defaults in place for the rest."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def add_training_options(parser: argparse.ArgumentParser, *, steps: int, batch_size: int, lr: float | None = 1e-3,
                         eval_every: int | None = None, limit_help: str = "only this many corpus pieces") -> None:
    """--steps --batch-size [--lr] [--eval-every] --limit --threads --seed --quiet."""
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    if lr is not None:
        parser.add_argument("--lr", type=float, default=lr)
    if eval_every is not None:
        parser.add_argument("--eval-every", type=int, default=eval_every)
    parser.add_argument("--limit", type=int, help=limit_help)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")


# ---- data: build, captions, stats ----

def add_data(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="the offline corpus: build the cache, print statistics")
    data.set_defaults(help_parser=data)
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    add_data_build(data_sub)
    add_data_captions(data_sub)
    add_data_stats(data_sub)
    add_data_shard(data_sub)


def add_data_build(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("build", help="parse the corpus once into the cache (parquet); building again parses only "
                       "the pieces whose source changed")
    b.add_argument("--datasets", help="comma-separated: abc_tunes,chorales,classical (default: all)")
    b.add_argument("--midi-folder", help="also build a folder of your own MIDI files")
    b.add_argument("--jsonl", help="also build a MidiCaps-style jsonl of captions and MIDI paths")
    b.add_argument("--cache-dir", help="cache folder (default $PARTITA_CACHE or ~/.cache/partita)")
    b.add_argument("--workers", type=int, help="processes (default: one per core)")
    b.add_argument("--limit", type=int, help="only the first N pieces of each dataset")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_data_build)


def _data_build(args: argparse.Namespace) -> int:
    from partita import datasets

    sources = {}
    if args.midi_folder:
        folder = Path(args.midi_folder)
        sources["midi_folder"] = lambda: datasets.midi_folder(folder)
    if args.jsonl:
        captions = Path(args.jsonl)
        sources["jsonl"] = lambda: datasets.jsonl_captions(captions)
    names = args.datasets.split(",") if args.datasets else (None if not sources else [])
    report = datasets.build(names, cache_dir=args.cache_dir, workers=args.workers, limit=args.limit,
                            progress=not args.quiet, sources=sources)
    for line in report.lines():
        print(line)
    return 0


def add_data_captions(sub: argparse._SubParsersAction) -> None:
    dc = sub.add_parser("captions", help="MidiCaps-style captions of corpus pieces, and how well the "
                        "prompt parser reads them back")
    dc.add_argument("-o", "--output", required=True, help="a .jsonl file")
    dc.add_argument("--split", default="train", choices=["train", "valid", "test"])
    dc.add_argument("--per-piece", type=int, default=3)
    dc.add_argument("--limit", type=int, help="only this many pieces")
    dc.add_argument("--seed", type=int, default=0)
    dc.add_argument("--quiet", action="store_true")
    dc.set_defaults(func=_data_captions)


def _data_captions(args: argparse.Namespace) -> int:
    from partita.text.captions import Caption, corpus_captions, parser_agreement, write_jsonl

    rows = corpus_captions(args.split, per_piece=args.per_piece, limit=args.limit, seed=args.seed,
                           progress=not args.quiet)
    write_jsonl(rows, args.output)
    agreement = parser_agreement([Caption(r["caption"], r["stated"]) for r in rows])
    print(json.dumps(agreement))
    print(f"wrote {args.output}: {len(rows)} captions")
    return 0


def add_data_stats(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("stats", help="counts per dataset, collection and split; notes, bars, keys, meters")
    s.add_argument("--datasets", help="comma-separated subset")
    s.add_argument("--cache-dir", help="cache folder")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=_data_stats)


def _data_stats(args: argparse.Namespace) -> int:
    from partita import datasets

    names = args.datasets.split(",") if args.datasets else None
    result = datasets.stats(args.cache_dir, names)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    for name, d in result.items():
        built = (f"{d['parsed']} parsed, {d['failed']} failed, {d['notes']:,} notes, {d['bars']:,} bars"
                 if d["built"] else "cache out of date (run `partita data build`)" if d.get("stale")
                 else f"cache file corrupt ({d['corrupt']}; rebuilt when next loaded)" if d.get("corrupt")
                 else "not built (run `partita data build`)")
        print(f"{name}: {d['pieces']:,} pieces; {built}")
        print("  splits:      " + ", ".join(f"{k} {v:,}" for k, v in sorted(d["splits"].items())))
        print("  collections: " + ", ".join(f"{k} {v:,}" for k, v in list(d["collections"].items())[:8]))
        if d["built"]:
            print("  keys:        " + ", ".join(f"{k} {v}" for k, v in list(d["keys"].items())[:8]))
            print("  meters:      " + ", ".join(f"{k} {v}" for k, v in d["meters"].items()))
    return 0


def add_data_shard(sub: argparse._SubParsersAction) -> None:
    sh = sub.add_parser("shard", help="tokenize the corpus, a MIDI/ABC folder or a caption file into Parquet "
                        "shards for training at any size")
    sh.add_argument("source", help="'corpus' (or corpus:abc_tunes,chorales), a folder of MIDI/ABC files "
                    "(recursive), or a MidiCaps-style .jsonl")
    sh.add_argument("-o", "--output", required=True, help="output folder (an interrupted run there is continued)")
    sh.add_argument("--tokenizer", default="remi", choices=TOKENIZER_NAMES)
    sh.add_argument("--shards", type=int, default=16, help="train shards (a multiple of 8 suits most world sizes)")
    sh.add_argument("--workers", type=int, help="processes (default: one per core)")
    sh.add_argument("--max-tokens", type=int, default=100_000, help="skip pieces with more tokens (0: keep all)")
    sh.add_argument("--limit", type=int, help="only the first N pieces of the source")
    sh.add_argument("--seed", type=int, default=0, help="the global shuffle")
    sh.add_argument("--quiet", action="store_true", help="no progress bar")
    sh.set_defaults(func=_data_shard)


def _data_shard(args: argparse.Namespace) -> int:
    from partita.datasets.shard import shard

    report = shard(args.source, args.output, tokenizer=args.tokenizer, shards=args.shards, workers=args.workers,
                   seed=args.seed, max_tokens=args.max_tokens or None, limit=args.limit, progress=not args.quiet)
    for note in report.notes:
        print(f"partita: note: {note}", file=sys.stderr)
    for line in report.lines():
        print(line)
    return 0


# ---- files: info, convert, tokenize, analyze, render, transcribe, evaluate ----

def add_info(sub: argparse._SubParsersAction) -> None:
    i = sub.add_parser("info", help="tracks, instruments, notes, duration, tempo, meter, key of a file")
    i.add_argument("file", help="a MIDI, MusicXML or ABC file")
    i.add_argument("--tune", type=int, help="ABC: the X: number of the tune")
    i.add_argument("--json", action="store_true", help="print one JSON object")
    i.set_defaults(func=_info)


def _info(args: argparse.Namespace) -> int:
    from partita.score import info, read

    score = read(args.file, tune=args.tune, allow_empty=True)
    result = info(score)
    result["file"] = str(args.file)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.file}")
    print(f"  duration   {result['seconds']:.2f} s, {result['bars']} bars, {result['notes']} notes")
    print(f"  tempo      {', '.join(f'{t:g}' for t in result['tempos_qpm']) or 'none'} qpm")
    print(f"  meter      {', '.join(result['meters']) or 'none'}")
    print(f"  key sig.   {', '.join(result['keys']) or 'none'}")
    print(f"  tracks     {len(result['track_list'])}")
    for t in result["track_list"]:
        kind = "drums" if t["drum"] else f"program {t['program']:3d} {t['instrument']}"
        print(f"    {t['name'][:24]:<24} {kind:<40} {t['notes']:6d} notes, pitch {t['pitch_range']}")
    return 0


def add_convert(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("convert", help="convert between MIDI, MusicXML and ABC (by suffix)")
    c.add_argument("input")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--tune", type=int, help="ABC input: the X: number of the tune")
    c.set_defaults(func=_convert)


def _convert(args: argparse.Namespace) -> int:
    from partita.fileio import check_not_input
    from partita.score import read, write

    check_not_input(args.output, args.input)
    score = read(args.input, tune=args.tune)
    write(score, args.output)
    print(f"wrote {args.output}")
    return 0


def add_tokenize(sub: argparse._SubParsersAction) -> None:
    k = sub.add_parser("tokenize", help="print the tokens of a file (remi, anticipation or abc)")
    k.add_argument("file", help="a MIDI, MusicXML or ABC file")
    k.add_argument("--tokenizer", default="remi", choices=TOKENIZER_NAMES)
    k.add_argument("--ids", action="store_true", help="print token ids instead of names")
    k.add_argument("--tune", type=int, help="ABC: the X: number of the tune")
    k.set_defaults(func=_tokenize)


def _tokenize(args: argparse.Namespace) -> int:
    from partita.errors import InputError
    from partita.tokenizers import by_name

    path = Path(args.file)
    if args.tokenizer == "abc":
        from partita.fileio import existing_file
        from partita.score import split_abc_tunes

        header, tunes = split_abc_tunes(existing_file(path).read_text(encoding="utf-8", errors="replace"))
        if not tunes:
            raise InputError(path, "no ABC tune in this file (no X: line)")
        chosen = next((t for n, t in tunes if args.tune in (None, n)), None)
        if chosen is None:
            raise InputError(path, f"no tune X:{args.tune}")
        tok = by_name("abc")
        try:
            patches = tok.encode(chosen)
        except ValueError as exc:
            raise InputError(path, str(exc)) from None
        for patch in patches:
            print(" ".join(str(i) for i in patch) if args.ids else repr(tok.decode([patch])))
        return 0
    from partita.score import read

    score = read(path, tune=args.tune)
    tok = by_name(args.tokenizer)
    ids = tok.encode(score)
    if args.ids:
        print(" ".join(map(str, ids)))
    elif args.tokenizer == "anticipation":
        from partita.tokenizers.anticipation import readable

        print("\n".join(readable(ids)))
    else:
        print(" ".join(tok.token_name(i) for i in ids))
    return 0


def add_analyze(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("analyze", help="key, tempo, meter, chords, instruments, range, density, muspy metrics")
    a.add_argument("file", help="a MIDI, MusicXML or ABC file, or a WAV/FLAC (tempo, beats, key)")
    a.add_argument("--tune", type=int, help="ABC: the X: number of the tune")
    a.add_argument("--profile", default="aarden", choices=["aarden", "krumhansl", "temperley", "bellman", "simple"],
                   help="key profile (default aarden)")
    a.add_argument("--no-chords", action="store_true", help="skip chord recognition")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.set_defaults(func=_analyze)


def _analyze(args: argparse.Namespace) -> int:
    from partita.mir.analysis import analyze, describe
    from partita.score import read

    if Path(args.file).suffix.lower() in AUDIO_SUFFIXES:
        return _analyze_audio(args)
    score = read(args.file, tune=args.tune)
    result = analyze(score, profile=args.profile, chords=not args.no_chords)
    if args.json:
        print(json.dumps({"file": str(args.file), **result.to_dict()}))
        return 0
    print(args.file)
    for line in describe(result):
        print(f"  {line}")
    return 0


def _analyze_audio(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from partita.mir.audio import analyze_audio, load_audio

    audio, sr = load_audio(args.file)
    result = analyze_audio(audio, sr)
    if args.json:
        print(json.dumps({"file": str(args.file), "sample_rate": sr, **asdict(result)}))
        return 0
    print(args.file)
    peak = f"{result.peak_dbfs:.1f} dBFS" if result.peak_dbfs is not None else "-inf dBFS"
    print(f"  length     {result.seconds:.2f} s at {sr} Hz, peak {peak}" + (" (silent)" if result.silent else ""))
    print(f"  tempo      {result.tempo if result.tempo else 'none'} bpm, {len(result.beats)} beats")
    print(f"  key        {result.key_name or 'none'} (chroma, profile aarden)")
    return 0


def add_render(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("render", help="render a score to audio (WAV or FLAC)")
    r.add_argument("input", help="a MIDI, MusicXML or ABC file")
    r.add_argument("-o", "--output", required=True, help="a .wav or .flac file")
    r.add_argument("--engine", default="soundfont", choices=["soundfont", "fluidsynth", "ddsp"],
                   help="soundfont (embedded, default), fluidsynth (Debian's FluidR3), ddsp (trained performers)")
    r.add_argument("--soundfont", help="any .sf2 file")
    r.add_argument("--sample-rate", type=int, default=44100)
    r.add_argument("--no-humanize", action="store_true", help="play exactly as written")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--tune", type=int, help="ABC input: the X: number of the tune")
    r.set_defaults(func=_render)


def _render(args: argparse.Namespace) -> int:
    from partita.audio_render import render_to_file
    from partita.fileio import check_not_input
    from partita.score import duration_seconds, read

    check_not_input(args.output, args.input)
    score = read(args.input, tune=args.tune)
    path = render_to_file(score, args.output, engine=args.engine, soundfont=args.soundfont,
                          sample_rate=args.sample_rate, humanize=0 if args.no_humanize else 1.0, seed=args.seed)
    print(f"wrote {path} ({duration_seconds(score):.1f} s of music, engine {args.engine})")
    return 0


def add_transcribe(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("transcribe", help="audio to MIDI with Basic Pitch (ONNX)")
    t.add_argument("input", help="a WAV/FLAC file (any rate, mono or stereo)")
    t.add_argument("-o", "--output", required=True, help="the MIDI (or MusicXML/ABC) file to write")
    t.add_argument("--onset-threshold", type=float, default=0.7)
    t.add_argument("--frame-threshold", type=float, default=0.4)
    t.set_defaults(func=_transcribe)


def _transcribe(args: argparse.Namespace) -> int:
    from partita.fileio import check_not_input
    from partita.mir.transcribe import transcribe
    from partita.score import write

    check_not_input(args.output, args.input)
    score = transcribe(args.input, onset_threshold=args.onset_threshold, frame_threshold=args.frame_threshold)
    if score.note_num() == 0:
        from partita.errors import InputError

        raise InputError(args.input, "no notes found in the audio; nothing written")
    write(score, args.output)
    print(f"wrote {args.output} ({score.note_num()} notes)")
    return 0


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="measure a folder of MIDI, or run a command over prompts; JSON + markdown")
    e.add_argument("--midi-folder", help="measure every MIDI file in this folder")
    e.add_argument("--prompts", help="jsonl: {\"prompt\": ..., \"attributes\": {...}} per line")
    e.add_argument("--command", help="command template with {prompt}, {out} and {seed}, run once per prompt")
    e.add_argument("-o", "--output", required=True, help="folder for results.json, results.md (and outputs)")
    e.add_argument("--seed", type=int, default=0, help="seed of the first prompt (+1 per prompt)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from partita.errors import PartitaError
    from partita.mir import evaluate

    out = Path(args.output)
    if args.midi_folder:
        rows = evaluate.run_folder(args.midi_folder, progress=not args.quiet)
    elif args.prompts and args.command:
        out.mkdir(parents=True, exist_ok=True)
        rows = evaluate.run_prompts(evaluate.read_prompts(args.prompts), args.command, out, seed=args.seed,
                                    progress=not args.quiet)
    else:
        raise PartitaError("give --midi-folder DIR, or --prompts FILE.jsonl with --command TEMPLATE")
    json_path, md_path = evaluate.write_results(rows, out)
    print(md_path.read_text(), end="")
    print(f"wrote {json_path} and {md_path}")
    return 0


# ---- text to music: generate ----

def add_generate(sub: argparse._SubParsersAction) -> None:
    """The options of ``GenerateRequest`` (seed, candidates, model, writer) default to None
    here: :func:`_generate` passes on only those given, and the record's defaults hold."""
    g = sub.add_parser("generate", help="text prompt -> MIDI (+ MusicXML, JSON report, audio with --render)")
    g.add_argument("prompt", nargs="?", default="",
                   help='e.g. "a jig in D major for fiddle and tin whistle, 32 bars" (optional with --description)')
    g.add_argument("-o", "--output", default="out", help="output folder (default out/)")
    g.add_argument("--seed", type=int)
    g.add_argument("--bars", type=int, help="length in bars (overrides the prompt)")
    g.add_argument("--candidates", type=int, help="candidates to write and rerank by fidelity")
    g.add_argument("--render", action="store_true", help="also render audio (WAV)")
    g.add_argument("--engine", default="soundfont", choices=["soundfont", "fluidsynth", "ddsp"])
    g.add_argument("--no-embeddings", action="store_true", help="skip MiniLM style matching (faster start)")
    g.add_argument("--model", help="a FIGARO checkpoint folder: the model writes melody and "
                   "harmony parts (default: the shipped checkpoints/figaro)")
    g.add_argument("--arranger-only", action="store_true", help="every part from the rule-based arranger (fast)")
    g.add_argument("--writer", choices=WRITERS,
                   help="who writes the melody: auto = the ABC tune model for the corpus's tune styles (jigs, "
                   "reels, hornpipes, polkas, waltzes, marches, folk songs), four voices for chorales and hymns, the "
                   "FIGARO model otherwise")
    g.add_argument("--description", metavar="FILE", help="a per-bar description (JSON or YAML: key, meter, tempo, "
                   "instruments, and bars of chord / density / instruments / section / repeat) instead of the planner")
    g.set_defaults(func=_generate)


def _generate(args: argparse.Namespace) -> int:
    from partita.compose.text_to_midi import GenerateRequest, generate, write_generation
    from partita.errors import InputError, PartitaError
    from partita.text.parse import MAX_BARS

    # up front, before any model loads: the limits, and a prompt whose bytes were not UTF-8
    if args.bars is not None and not 1 <= args.bars <= MAX_BARS:
        raise PartitaError(f"--bars {args.bars}: give 1 to {MAX_BARS}")
    if args.bars is not None and args.description:
        raise PartitaError("--bars and --description: the description gives the bars")
    args.prompt = args.prompt.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    description = None
    if args.description:
        from partita.compose.description_file import attributes_and_plan, read_description

        description = read_description(args.description)
        try:
            attributes_and_plan(description, args.prompt, seed=args.seed or 0)
        except PartitaError as exc:
            raise InputError(args.description, str(exc)) from None
    options = given(args, "seed", "bars", "candidates", "model", "writer")
    if args.no_embeddings:
        options["use_embeddings"] = False
    if args.arranger_only:
        options.update(model=None, writer="arranger")
    gen = generate(GenerateRequest(args.prompt, description=description, **options))
    name = Path(args.description).stem if args.description and not args.prompt.strip() else None
    paths = write_generation(gen, args.output, render=args.render, engine=args.engine, name=name)
    print(f"prompt: {args.prompt}" + (f" + description {args.description}" if args.description else ""))
    print("\n".join(gen.summary_lines()))
    print(f"best of {len(gen.candidate_scores)} candidates {gen.candidate_scores} in {gen.seconds:.1f} s")
    for path in paths.values():
        print(f"wrote {path}")
    return 0


# ---- the anticipatory model: accompany, infill, continue ----

def add_amt_options(v: argparse.ArgumentParser, *, free_help: str) -> None:
    """-o, --model and the sampling options (``SamplingConfig``: seed, top-p, temperature;
    None here, the record's defaults apply), --free."""
    v.add_argument("-o", "--output", required=True)
    v.add_argument("--model", help="checkpoint folder (default: the shipped checkpoints/amt-small; released AMT "
                                        "folders work)")
    v.add_argument("--seed", type=int)
    v.add_argument("--top-p", type=float)
    v.add_argument("--temperature", type=float)
    v.add_argument("--free", action="store_true", help=free_help)


def _amt_model(path: str | None):  # noqa: ANN202 - a torch module
    from partita import checkpoints
    from partita.errors import PartitaError
    from partita.symbolic.amt.model import load

    folder = Path(path) if path else checkpoints.folder("amt")
    if not (folder / "config.json").exists():
        raise PartitaError(f"{folder}: no anticipatory checkpoint here; train one with "
                           "`partita train anticipatory` or pass --model PATH (e.g. a released AMT folder)")
    return load(folder)[0]


def _sampling(args: argparse.Namespace):  # noqa: ANN202 - a SamplingConfig
    from partita.errors import PartitaError
    from partita.sampling import SamplingConfig

    config = SamplingConfig(**given(args, "top_p", "temperature", "seed"))
    if not 0 < config.top_p <= 1 or config.temperature <= 0:
        raise PartitaError("--top-p must be in (0, 1] and --temperature above 0")
    return config


def _instrument_list(text: str | None) -> list[int] | None:
    from partita.text.parse import instrument_list

    return instrument_list(text)


def add_accompany(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser("accompany", help="accompany a melody (the anticipatory model)")
    v.add_argument("melody", help="a MIDI, MusicXML or ABC file")
    add_amt_options(v, free_help="the model alone: no key guard, harmony guard (no seconds, sevenths or tritone "
                                 "against the melody) or cover guard")
    v.add_argument("--instruments", help="e.g. piano,bass (names as in prompts; default for accompany: piano and bass)")
    v.add_argument("--candidates", type=int, default=4,
                   help="sample N accompaniments, keep the one that supports the melody best "
                        "(default 4; 1 is four times faster)")
    v.set_defaults(func=_accompany)


def _accompany(args: argparse.Namespace) -> int:
    from partita.compose.accompany import accompany_best
    from partita.errors import PartitaError
    from partita.fileio import check_not_input
    from partita.score import read, write

    check_not_input(args.output, args.melody)
    if not 1 <= args.candidates <= 32:
        raise PartitaError(f"--candidates {args.candidates}: give 1 to 32")
    melody = read(args.melody)
    instruments = _instrument_list(args.instruments)
    model = _amt_model(args.model)
    best, candidates = accompany_best(model, melody, candidates=args.candidates, instruments=instruments,
                                      config=_sampling(args), guided=not args.free)
    out = best.value
    write(out, args.output)
    added = sum(len(t.notes) for t in out.tracks[len(melody.tracks):])
    print(f"wrote {args.output}: melody kept ({melody.note_num()} notes), {added} accompaniment notes; "
          f"harmonic support {best.report['harmonic_support']:.2f}, coverage {best.report['coverage']:.2f}"
          + (f" (best of {len(candidates)})" if len(candidates) > 1 else ""))
    return 0


def add_infill(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser("infill", help="regenerate a span of a piece, keep the rest (the anticipatory model)")
    v.add_argument("input", help="a MIDI, MusicXML or ABC file")
    add_amt_options(v, free_help="the model alone: no key guard")
    v.add_argument("--start-bar", type=int)
    v.add_argument("--end-bar", type=int)
    v.add_argument("--start", type=float, help="seconds")
    v.add_argument("--end", type=float, help="seconds")
    v.set_defaults(func=_infill)


def _span_seconds(piece, args: argparse.Namespace) -> tuple[float, float]:  # noqa: ANN001 - a Score
    from partita.compose.accompany import span_seconds

    return span_seconds(piece, args.start_bar, args.end_bar, args.start, args.end,
                        asked="--start-bar/--end-bar, or --start/--end")


def _infill(args: argparse.Namespace) -> int:
    from partita.compose.accompany import infill
    from partita.fileio import check_not_input
    from partita.score import read, write

    check_not_input(args.output, args.input)
    piece = read(args.input)
    start_s, end_s = _span_seconds(piece, args)
    out = infill(_amt_model(args.model), piece, start_s, end_s, config=_sampling(args), guided=not args.free)
    write(out, args.output)
    print(f"wrote {args.output}: {start_s:.2f}-{end_s:.2f} s regenerated, the rest kept")
    return 0


def add_continue(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser("continue", help="continue a piece (the anticipatory model)")
    v.add_argument("input", help="a MIDI, MusicXML or ABC file")
    add_amt_options(v, free_help="the model alone: no key guard")
    v.add_argument("--bars", type=int, help="bars to add (the meter and tempo at the end)")
    v.add_argument("--seconds", type=float, help="or seconds to add")
    v.add_argument("--instruments", help="instruments of the continuation (default: the piece's)")
    v.set_defaults(func=_continue)


def _continue(args: argparse.Namespace) -> int:
    from partita.compose.accompany import continue_piece, seconds_of_bars
    from partita.errors import PartitaError
    from partita.fileio import check_not_input
    from partita.score import read, write

    check_not_input(args.output, args.input)
    piece = read(args.input)
    if args.bars is not None:
        if not 1 <= args.bars <= 256:
            raise PartitaError(f"--bars {args.bars}: give 1 to 256 bars")
        seconds = seconds_of_bars(piece, args.bars)
    elif args.seconds is not None:
        if not 0 < args.seconds <= 600:
            raise PartitaError(f"--seconds {args.seconds}: give more than 0 and at most 600")
        seconds = args.seconds
    else:
        raise PartitaError("give --bars N or --seconds S")
    out = continue_piece(_amt_model(args.model), piece, seconds, instruments=_instrument_list(args.instruments),
                         config=_sampling(args), guided=not args.free)
    write(out, args.output)
    print(f"wrote {args.output}: {seconds:.1f} s added after {piece.note_num()} notes "
          f"({out.note_num() - piece.note_num()} new)")
    return 0


# ---- themes, theme, abc ----

def add_themes(sub: argparse._SubParsersAction) -> None:
    th = sub.add_parser("themes", help="the themes of a piece: melody segments that return, with variations")
    th.add_argument("file", help="a MIDI, MusicXML or ABC file")
    th.add_argument("--bars", type=int, default=2, help="segment length in bars")
    th.add_argument("--tune", type=int, help="ABC: the X: number of the tune")
    th.add_argument("--model", help="embedder folder (default: the shipped checkpoints/theme-embedder)")
    th.add_argument("--json", action="store_true")
    th.set_defaults(func=_themes)


def _themes(args: argparse.Namespace) -> int:
    from partita import checkpoints
    from partita.errors import PartitaError
    from partita.score import read
    from partita.symbolic.theme.retrieval import find_themes, load

    if not 1 <= args.bars <= 8:
        raise PartitaError(f"--bars {args.bars}: give 1 to 8")
    model, _ = load(checkpoints.resolve(args.model, "theme-embedder"))
    score = read(args.file, tune=args.tune)
    found = find_themes(model, score, bars=args.bars)
    if args.json:
        print(json.dumps([{"start_bar": t.start_bar, "bars": t.bars, "occurrences": t.occurrences,
                           "notes": [list(n) for n in t.notes]} for t in found]))
        return 0
    if not found:
        print(f"{args.file}: no {args.bars}-bar segment returns (no theme found)")
        return 0
    from partita.theory import PC_NAMES as names

    for i, t in enumerate(found, 1):
        pitches = " ".join(f"{names[p % 12]}{p // 12 - 1}" for _, _, p in t.notes)
        print(f"theme {i}: bars {t.start_bar}-{t.start_bar + t.bars - 1}, returns at bars "
              f"{', '.join(map(str, t.occurrences))}: {pitches}")
    return 0


def add_theme(sub: argparse._SubParsersAction) -> None:
    te = sub.add_parser("theme", help="a melody that states a given theme again and again (Theme Transformer)")
    te.add_argument("theme", help="the theme: a MIDI, MusicXML or ABC file")
    te.add_argument("-o", "--output", required=True)
    te.add_argument("--bars", type=int, default=24)
    te.add_argument("--every", type=int, default=8, help="the theme returns every N bars")
    te.add_argument("--model", help="checkpoint folder (default: the shipped checkpoints/theme)")
    te.add_argument("--variation", type=float, default=0.25,
                    help="share of the theme's intervals a later statement may change (the first is exact)")
    te.add_argument("--no-guard", action="store_true",
                    help="the model alone: planned statements may drift from the theme")
    te.add_argument("--seed", type=int, default=0)
    te.add_argument("--top-p", type=float, default=0.9)
    te.add_argument("--temperature", type=float, default=1.0)
    te.set_defaults(func=_theme)


def _theme(args: argparse.Namespace) -> int:
    from partita import checkpoints
    from partita.errors import PartitaError
    from partita.fileio import check_not_input
    from partita.score import read, write
    from partita.symbolic.theme.data import to_score
    from partita.symbolic.theme.model import load
    from partita.symbolic.theme.retrieval import melody_notes
    from partita.symbolic.theme.sample import generate

    check_not_input(args.output, args.theme)
    if not 1 <= args.bars <= 128:
        raise PartitaError(f"--bars {args.bars}: give 1 to 128")
    if not 0 <= args.variation <= 1:
        raise PartitaError(f"--variation {args.variation}: give a share from 0 to 1")
    model, _ = load(checkpoints.resolve(args.model, "theme"))
    score = read(args.theme)
    notes = melody_notes(score)
    sigs = sorted(score.time_signatures, key=lambda t: t.time)
    meter = (sigs[0].numerator, sigs[0].denominator) if sigs else (4, 4)
    qpm = score.tempos[0].qpm if len(score.tempos) else 100.0
    melody = generate(model, notes, bars=args.bars, beats_per_bar=meter[0] * 4 / meter[1], every=args.every,
                      seed=args.seed, top_p=args.top_p, temperature=args.temperature, guard=not args.no_guard,
                      variation=args.variation)
    program = next((t.program for t in score.tracks if not t.is_drum), 73)
    write(to_score(melody, meter, qpm, program), args.output)
    print(f"wrote {args.output}: {len(melody)} notes in {args.bars} bars, theme planned every {args.every} bars")
    return 0


def add_abc(sub: argparse._SubParsersAction) -> None:
    ab = sub.add_parser("abc", help="an ABC tune from a prompt, with form control (the TunesFormer model)")
    ab.add_argument("prompt", help='e.g. "a lively reel in D"')
    ab.add_argument("-o", "--output", required=True, help="the .abc file")
    ab.add_argument("--sections", type=int)
    ab.add_argument("--bars-per-section", type=int)
    ab.add_argument("--form", help="e.g. AABA: sections with the same letter repeat")
    ab.add_argument("--no-phrase-repeats", action="store_true",
                    help="no repeats inside a strain (by default the second phrase of each 8 bars opens as the "
                    "first, and a new strain ends as the first did)")
    ab.add_argument("--candidates", type=int, default=4, help="tunes sampled; the one honouring the request kept")
    ab.add_argument("--midi", help="also write a MIDI file")
    ab.add_argument("--musicxml", help="also write MusicXML")
    ab.add_argument("--model", help="checkpoint folder (default checkpoints/abc-tunesformer)")
    ab.add_argument("--seed", type=int, default=0)
    ab.add_argument("--top-p", type=float, default=0.9)
    ab.add_argument("--temperature", type=float, default=1.0)
    ab.set_defaults(func=_abc)


def _abc(args: argparse.Namespace) -> int:
    from partita import checkpoints
    from partita.compose.tunes import compose, request_from_prompt
    from partita.errors import PartitaError
    from partita.fileio import atomic_path
    from partita.score import write
    from partita.symbolic.abc.model import BarPatchModel, load
    from partita.tokenizers.abc import to_score

    if not 1 <= args.candidates <= 32:
        raise PartitaError(f"--candidates {args.candidates}: give 1 to 32")
    request, notes = request_from_prompt(args.prompt, sections=args.sections,
                                         bars_per_section=args.bars_per_section, form=args.form, seed=args.seed,
                                         phrase_repeats=not args.no_phrase_repeats)
    model, _ = load(checkpoints.resolve(args.model, "abc"))
    if not isinstance(model, BarPatchModel):
        raise PartitaError(f"{args.model}: a flat baseline model; `partita abc` needs the bar-patch model")
    result = compose(model, request, candidates=args.candidates, seed=args.seed, top_p=args.top_p,
                     temperature=args.temperature)
    if not result.report.get("parses"):
        raise PartitaError(f"none of {args.candidates} tunes parsed ({result.report.get('error', '')}); "
                           "try more --candidates or another --seed")
    text = f"X:1\nT:{args.prompt.strip()[:60]}\n" + result.text
    with atomic_path(args.output, suffix=".abc") as tmp:
        tmp.write_text(text)
    written = [args.output]
    score = to_score(result.text)
    for path in (args.midi, args.musicxml):
        if path:
            write(score, path)
            written.append(path)
    r = result.report
    for note in notes:
        print(f"  assumed: {note}")
    print(f"  sections {r['sections']} (asked {request.sections}), bars {r['bars']} "
          f"(asked {request.bars_per_section} each), bars off the meter {r['bars_off_meter']}, "
          f"key measured {r['key_measured']} (asked {request.key_field()})")
    print(f"wrote {', '.join(written)} in {result.seconds:.1f} s (best of {len(result.candidates)})")
    return 0


# ---- train: ddsp, abc, figaro, themes, theme, anticipatory ----

def add_train(sub: argparse._SubParsersAction) -> None:
    tr = sub.add_parser("train", help="train a model (reproduces the shipped checkpoints)")
    tr.set_defaults(help_parser=tr)
    tr_sub = tr.add_subparsers(dest="train_command", metavar="MODEL")
    add_train_ddsp(tr_sub)
    add_train_abc(tr_sub)
    add_train_figaro(tr_sub)
    add_train_themes(tr_sub)
    add_train_theme(tr_sub)
    add_train_anticipatory(tr_sub)


def add_train_ddsp(sub: argparse._SubParsersAction) -> None:
    td = sub.add_parser("ddsp", help="a DDSP performer for one instrument, from soundfont renders")
    td.add_argument("--instrument", required=True,
                    choices=["violin", "viola", "cello", "flute", "clarinet", "trumpet"])
    td.add_argument("-o", "--output", help="checkpoint folder (default checkpoints/ddsp-INSTRUMENT)")
    td.add_argument("--steps", type=int, default=2000)
    td.add_argument("--phrases", type=int, default=240, help="phrases rendered (a tenth held out)")
    td.add_argument("--batch-size", type=int, default=8)
    td.add_argument("--crop-seconds", type=float, default=1.0)
    td.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core machine)")
    td.add_argument("--seed", type=int, default=0)
    td.add_argument("--quiet", action="store_true")
    td.set_defaults(func=_train_ddsp)


def _train_ddsp(args: argparse.Namespace) -> int:
    from partita.audio_render.ddsp.train import train

    out = args.output or f"checkpoints/ddsp-{args.instrument}"
    card = train(args.instrument, out, steps=args.steps, n_phrases=args.phrases, batch_size=args.batch_size,
                 crop_seconds=args.crop_seconds, seed=args.seed, threads=args.threads, progress=not args.quiet)
    print(f"wrote {out}: held-out {json.dumps(card['heldout'])}, {card['wall_seconds']:.0f} s")
    return 0


def add_train_abc(sub: argparse._SubParsersAction) -> None:
    tb = sub.add_parser("abc", help="the TunesFormer-style bar-patch ABC model (or --flat baseline)")
    tb.add_argument("-o", "--output", help="checkpoint folder (default checkpoints/abc-tunesformer)")
    tb.add_argument("--flat", action="store_true", help="the plain character-level baseline of the same size")
    tb.add_argument("--width", type=int, default=256)
    tb.add_argument("--patch-layers", type=int, default=4)
    tb.add_argument("--char-layers", type=int, default=2)
    tb.add_argument("--heads", type=int, default=4)
    add_training_options(tb, steps=3000, batch_size=16, eval_every=500, limit_help="only this many training tunes")
    add_scale_options(tb, shard_tokenizer="abc")
    tb.set_defaults(func=_train_abc)


def add_scale_options(parser: argparse.ArgumentParser, *, shard_tokenizer: str, resume: bool = True) -> None:
    """--data --from --warmup --accumulate --precision --metrics --save-every [--resume]."""
    parser.add_argument("--data", help=f"train on shards from `partita data shard ... --tokenizer {shard_tokenizer}` "
                        "(their valid split is held out) instead of the corpus")
    parser.add_argument("--from", dest="init_from", metavar="CHECKPOINT",
                        help="fine-tune this checkpoint folder (e.g. checkpoints/abc-tunesformer); its tokenizer "
                        "must match the shards'")
    parser.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    parser.add_argument("--accumulate", type=int, default=1, help="micro-batches per step (gradient accumulation)")
    parser.add_argument("--precision", default="auto", choices=["auto", "no", "bf16", "fp16"],
                        help="mixed precision (auto: bf16 on a GPU that has it, fp32 on the CPU)")
    parser.add_argument("--metrics", help="append training and held-out losses to this JSONL file")
    parser.add_argument("--save-every", type=int, help="also save every N steps between evaluations")
    if resume:
        parser.add_argument("--resume", action="store_true", help="continue the model in the output folder")


def _train_abc(args: argparse.Namespace) -> int:
    from partita.symbolic.abc.model import AbcModelConfig
    from partita.symbolic.abc.train import train

    config = AbcModelConfig(kind="flat" if args.flat else "patch", d_model=args.width, patch_layers=args.patch_layers,
                            char_layers=args.char_layers, heads=args.heads)
    if args.init_from:
        out = args.output or f"{args.init_from.rstrip('/')}-finetuned"
    else:
        out = args.output or ("checkpoints/abc-flat" if args.flat else "checkpoints/abc-tunesformer")
    return _run_training(train, out, config, args)


def _run_training(train, out: str, config: Any, args: argparse.Namespace) -> int:  # noqa: ANN001
    """Run a family's ``train`` with the shared options and print one line (from rank 0 only,
    in a run of several processes)."""
    record = train(out, config=config, steps=args.steps, batch_size=args.batch_size, lr=args.lr, limit=args.limit,
                   seed=args.seed, threads=args.threads, eval_every=args.eval_every, progress=not args.quiet,
                   data=args.data, init_from=args.init_from, warmup=args.warmup, accumulate=args.accumulate,
                   precision=args.precision, metrics=args.metrics, save_every=args.save_every, resume=args.resume)
    before = f", before {json.dumps(record['heldout_before'])}" if record.get("heldout_before") else ""
    if os.environ.get("RANK", "0") == "0":
        print(f"wrote {out}: {record['steps']} steps, held-out {json.dumps(record.get('heldout'))}{before}")
    return 0


def add_train_figaro(sub: argparse._SubParsersAction) -> None:
    tf = sub.add_parser("figaro", help="the FIGARO-style description-to-REMI model on the corpus cache")
    tf.add_argument("-o", "--output", help="checkpoint folder (default checkpoints/figaro)")
    tf.add_argument("--no-descriptions", action="store_true", help="the ablation: attribute tokens and bar markers only")
    tf.add_argument("--width", type=int, default=256)
    tf.add_argument("--context", type=int, default=512, help="tokens per training window (and the model's positions)")
    tf.add_argument("--layers", type=int, default=4)
    tf.add_argument("--heads", type=int, default=4)
    add_training_options(tf, steps=2000, batch_size=8, eval_every=250)
    add_scale_options(tf, shard_tokenizer="remi")
    tf.set_defaults(func=_train_figaro)


def _train_figaro(args: argparse.Namespace) -> int:
    from partita.symbolic.figaro.model import FigaroConfig
    from partita.symbolic.figaro.train import train

    config = FigaroConfig(context=args.context, d_model=args.width, layers=args.layers, heads=args.heads,
                          descriptions=not args.no_descriptions)
    if args.init_from:
        out = args.output or f"{args.init_from.rstrip('/')}-finetuned"
    else:
        out = args.output or ("checkpoints/figaro-nodesc" if args.no_descriptions else "checkpoints/figaro")
    return _run_training(train, out, config, args)


def add_train_themes(sub: argparse._SubParsersAction) -> None:
    tt = sub.add_parser("themes", help="the theme-retrieval segment embedder (contrastive, on corpus melodies)")
    tt.add_argument("-o", "--output", help="checkpoint folder (default checkpoints/theme-embedder)")
    tt.add_argument("--steps", type=int, default=1500)
    tt.add_argument("--batch-size", type=int, default=128)
    tt.add_argument("--limit", type=int, default=3000, help="corpus pieces to cut segments from")
    tt.add_argument("--threads", type=int)
    tt.add_argument("--seed", type=int, default=0)
    tt.add_argument("--quiet", action="store_true")
    tt.add_argument("--resume", action="store_true",
                    help="continue the embedder in the output folder for --steps more")
    tt.set_defaults(func=_train_themes)


def _train_themes(args: argparse.Namespace) -> int:
    from partita.symbolic.theme.train import train_embedder

    out = args.output or "checkpoints/theme-embedder"
    record = train_embedder(out, steps=args.steps, batch_size=args.batch_size, limit=args.limit, seed=args.seed,
                            threads=args.threads, progress=not args.quiet, resume=args.resume)
    print(f"wrote {out}: {record['steps']} steps, retrieval top-1 {record['heldout']['retrieval_top1']:.3f}")
    return 0


def add_train_theme(sub: argparse._SubParsersAction) -> None:
    tm = sub.add_parser("theme", help="the Theme Transformer (or --baseline: theme as a prompt)")
    tm.add_argument("-o", "--output")
    tm.add_argument("--baseline", action="store_true")
    tm.add_argument("--embedder", help="theme retrieval embedder (default: the shipped checkpoints/theme-embedder)")
    tm.add_argument("--resume", action="store_true", help="continue the model in the output folder for --steps more")
    tm.add_argument("--data", help="train on shards from `partita data shard ... --tokenizer remi` (their valid "
                    "split is held out) instead of the corpus")
    add_training_options(tm, steps=2000, batch_size=16, limit_help="only this many corpus tunes (or shard pieces)")
    tm.set_defaults(func=_train_theme)


def _train_theme(args: argparse.Namespace) -> int:
    from partita import checkpoints
    from partita.symbolic.theme.model import ThemeConfig
    from partita.symbolic.theme.train import train

    config = ThemeConfig(kind="prompt" if args.baseline else "theme")
    out = args.output or ("checkpoints/theme-prompt" if args.baseline else "checkpoints/theme")
    record = train(out, embedder_path=checkpoints.resolve(args.embedder, "theme-embedder"), config=config,
                   steps=args.steps, batch_size=args.batch_size, lr=args.lr, limit=args.limit, seed=args.seed,
                   threads=args.threads, progress=not args.quiet, resume=args.resume, data=args.data)
    print(f"wrote {out}: {record['steps']} steps, held-out loss {record['heldout']['heldout_loss']}")
    return 0


def add_train_anticipatory(sub: argparse._SubParsersAction) -> None:
    ta = sub.add_parser("anticipatory", help="the anticipatory model (AMT vocabulary) on the corpus cache")
    ta.add_argument("-o", "--output", help="checkpoint folder, resumed if present (default checkpoints/amt-small; "
                    "with --from: FROM-finetuned)")
    ta.add_argument("--steps", type=int, default=1000, help="more steps, one warm-up and cosine schedule")
    ta.add_argument("--stop-after", type=int, help="stop after this many of the steps (the schedule unchanged)")
    ta.add_argument("--batch-size", type=int, default=4)
    ta.add_argument("--lr", type=float, default=1e-3)
    ta.add_argument("--layers", type=int, default=4)
    ta.add_argument("--width", type=int, default=192)
    ta.add_argument("--heads", type=int, default=4)
    ta.add_argument("--limit", type=int, help="use only this many corpus pieces (per split) for sequences")
    ta.add_argument("--eval-every", type=int, default=100)
    ta.add_argument("--autoregressive-only", action="store_true", help="the paper's baseline: no anticipation")
    ta.add_argument("--threads", type=int)
    ta.add_argument("--seed", type=int, default=0)
    ta.add_argument("--quiet", action="store_true")
    add_scale_options(ta, shard_tokenizer="anticipation", resume=False)
    ta.set_defaults(func=_train_anticipatory)


def _train_anticipatory(args: argparse.Namespace) -> int:
    from partita.symbolic.amt.train import train

    args.output = args.output or (f"{args.init_from.rstrip('/')}-finetuned" if args.init_from
                                  else "checkpoints/amt-small")
    record = train(args.output, steps=args.steps, batch_size=args.batch_size, lr=args.lr, n_layer=args.layers,
                   n_embd=args.width, n_head=args.heads, limit=args.limit, seed=args.seed, threads=args.threads,
                   eval_every=args.eval_every, autoregressive_only=args.autoregressive_only, progress=not args.quiet,
                   stop_after=args.stop_after, data=args.data, init_from=args.init_from, warmup=args.warmup,
                   accumulate=args.accumulate, precision=args.precision, metrics=args.metrics,
                   save_every=args.save_every)
    if os.environ.get("RANK", "0") == "0":  # one line from a run of several processes
        print(f"wrote {args.output}: {record['steps']} steps, held-out {json.dumps(record.get('heldout'))}")
    return 0


# ---- serve: the web workbench ----

def add_serve(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("serve", help="the workbench in a browser: a page and a REST API of jobs")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--work-dir", help="uploads and results (default $PARTITA_CACHE/serve, ~/.cache/partita/serve)")
    s.add_argument("--max-queue", type=int, default=16, help="jobs waiting at most; more get 429 (default 16)")
    s.add_argument("--job-timeout", type=float, default=600, help="seconds a job may run (default 600)")
    s.add_argument("--max-upload-mb", type=float, default=20, help="largest upload in MB (default 20)")
    s.add_argument("--threads", type=int, default=1, help="torch threads of the worker (default 1)")
    s.add_argument("--no-warm", action="store_true", help="load models at the first job, not at start")
    s.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from partita.errors import PartitaError

    if not 1 <= args.max_queue <= 10_000 or args.job_timeout <= 0 or args.max_upload_mb <= 0:
        raise PartitaError("--max-queue must be 1 to 10000, --job-timeout and --max-upload-mb above 0")
    try:
        from partita.serve import serve
    except ImportError as exc:
        raise PartitaError(f"partita serve needs the serve extra ({exc.name} is missing): "
                           "pip install 'partita[serve]'") from None
    serve(args.host, args.port, work_dir=args.work_dir, max_queue=args.max_queue, job_timeout=args.job_timeout,
          max_upload_mb=args.max_upload_mb, threads=args.threads, warm=not args.no_warm)
    return 0


# ---- batch ----

def add_batch(sub: argparse._SubParsersAction) -> None:
    ba = sub.add_parser("batch", help="run many jobs of any kind from a JSONL file (resumable, --shard i/N)")
    ba.add_argument("jobs", help='JSONL: one job a line, e.g. {"id": "reel-1", "kind": "generate", '
                    '"prompt": "a reel in D", "seed": 0}; input paths relative to this file')
    ba.add_argument("-o", "--output", required=True, help="folder: job ID writes into OUTPUT/ID/ (with job.json)")
    ba.add_argument("--shard", help="i/N: only jobs i, i+N, i+2N, ... (0-based), for N machines sharing one file")
    ba.add_argument("--workers", type=int, default=1, help="processes running jobs at once")
    ba.add_argument("--quiet", action="store_true", help="no progress bar")
    ba.set_defaults(func=_batch)


def _batch(args: argparse.Namespace) -> int:
    from partita.batch import parse_shard, run_batch, summary_exit_code

    report = run_batch(args.jobs, args.output, shard=parse_shard(args.shard), workers=args.workers,
                       progress=not args.quiet)
    for line in report.lines():
        print(line)
    return summary_exit_code(report)


# ---- the command ----

def build_parser() -> argparse.ArgumentParser:
    """The parser of every verb; it imports nothing beyond the standard library."""
    parser = argparse.ArgumentParser(
        prog="partita",
        description="partita: a symbolic music composition workbench (text to MIDI, accompaniment, "
        "infilling, rendering, MIR checks).",
    )
    parser.set_defaults(help_parser=parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # in the order `partita --help` lists them
    for add in (add_data, add_info, add_generate, add_render, add_accompany, add_infill, add_continue, add_analyze,
                add_transcribe, add_evaluate, add_train, add_themes, add_theme, add_abc, add_tokenize, add_convert,
                add_serve, add_batch):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:  # a verb with actions but none given: show that verb's help
        args.help_parser.print_help(sys.stderr)
        return EXIT_USAGE
    from partita.errors import PartitaError

    try:
        return func(args)
    except PartitaError as exc:
        print(f"partita: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("partita: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `partita tokenize ... | head`: the reader left, not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback, unless asked
        if os.environ.get("PARTITA_DEBUG"):
            raise
        msg = " ".join(str(exc).split())[:300]
        print(f"partita: internal error: {type(exc).__name__}: {msg} (set PARTITA_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
