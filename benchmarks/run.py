"""One command, one table: every speed figure of partita beside a peer doing the same work,
measured in the same run, alternating (peer, ours, peer, ours...) so that a machine whose
speed drifts slows both alike.

    python -m benchmarks.run [--runs 5] [--only NAME ...]   # writes benchmarks/results/speed.{json,md}

Each row gives our median and spread (min-max), the peer's, and the median of the per-round
ratios ours / peer (below 1: we are faster). The machine's load average is noted before and
after. No row is compared with a target; the issue's targets are printed beside the figures
for the reader, never used as pass/fail. The rows:

| row | ours | peer |
|---|---|---|
| start-up | ``partita --help``, ``partita info x.mid`` (whole processes) | ``python -c "import partita"`` |
| render | ``partita render`` of a 3-minute quartet movement (whole process) | the ``fluidsynth`` command on the same MIDI |
| text to MIDI | a 16-bar jig, best of 4, in-process (candidates side by side on the 2 cores) | the same model and seeds, candidates one by one, without the KV cache |
| text to MIDI, CLI | ``partita generate`` (MIDI + MusicXML + JSON), whole process | the same in a warm process |
| accompany | a 30 s melody, best of 4 | one candidate by the reference-style loop (window re-encoded every step) |
| infill | 4 bars of a 32-bar piece | the same without the KV cache |
| ABC tune | 16 bars, best of 4 (bar-patch model) | a flat character model of the same size writing as many characters |
| tokenize | partita's REMI / anticipation encoders over corpus MIDI | miditok's own REMI encoder / a plain mido pass over the same files |
| read | ``partita.read`` of MIDI files | music21's MIDI parser on the same files |
| analyze | ``partita.mir.analyze`` | music21 ``analyze('key')`` alone |
"""

from __future__ import annotations

import argparse
import compileall
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).parent / "results"
ROOT = Path(__file__).parents[1]
PY = sys.executable
FLUID_SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
QUARTET = "haydn/opus74no1/movement3"
JIG = "A jig in G major for tin whistle, 16 bars"


def proc(*argv: str) -> Callable[[], None]:
    """A callable running one whole process (output discarded; a failure raises)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

    def run() -> None:
        subprocess.run(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, env=env)
    return run


def rounds(ours: Callable[[], object], peer: Callable[[], object], runs: int) -> dict:
    """Warm both once, then ``runs`` rounds of (peer, ours); medians, spreads and the median
    of the per-round ratios ours / peer."""
    ours(), peer()
    t_ours, t_peer = [], []
    for _ in range(runs):
        for fn, times in ((peer, t_peer), (ours, t_ours)):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return {"ours_s": statistics.median(t_ours), "ours_min": min(t_ours), "ours_max": max(t_ours),
            "peer_s": statistics.median(t_peer), "peer_min": min(t_peer), "peer_max": max(t_peer),
            "ratio": statistics.median(a / b for a, b in zip(t_ours, t_peer, strict=True)), "runs": runs}


# --------------------------------------------------------------------------- rows


def row_startup(runs: int, tmp: Path) -> list[dict]:
    midi = ROOT / "tests" / "data" / "amt" / "twinkle.mid"
    peer = proc(PY, "-c", "import partita")
    return [
        {"row": "start-up: `partita --help`", "peer": '`python -c "import partita"`', "target": "≤ 0.5 s",
         **rounds(proc(PY, "-m", "partita.cli", "--help"), peer, runs)},
        {"row": "start-up: `partita info x.mid`", "peer": '`python -c "import partita"`', "target": "≤ 0.5 s",
         **rounds(proc(PY, "-m", "partita.cli", "info", str(midi)), peer, runs)},
    ]


def quartet_midi(tmp: Path) -> tuple[Path, float]:
    from music21 import corpus

    from partita.score import duration_seconds, from_music21

    score = from_music21(corpus.parse(QUARTET))
    path = tmp / "quartet.mid"
    score.dump_midi(str(path))
    return path, duration_seconds(score)


def row_render(runs: int, tmp: Path) -> list[dict]:
    exe = shutil.which("fluidsynth")
    if not exe or not FLUID_SF2.exists():
        return [{"row": "render", "error": "fluidsynth or FluidR3_GM.sf2 missing: no peer"}]
    midi, seconds = quartet_midi(tmp)
    ours = proc(PY, "-m", "partita.cli", "render", str(midi), "-o", str(tmp / "ours.wav"))
    peer = proc(exe, "-ni", "-q", "-r", "44100", "-F", str(tmp / "peer.wav"), str(FLUID_SF2), str(midi))
    return [{"row": f"render a {seconds:.0f} s quartet movement, whole process", "peer": "`fluidsynth -ni -F` (FluidR3)",
             "target": "≤ 0.5× the peer", **rounds(ours, peer, runs)}]


def no_abc_cache():  # noqa: ANN201 - a context manager
    """The ABC writer's sampler without its KV cache (the peer of the text-to-MIDI rows)."""
    import contextlib

    from partita.compose import tunes
    from partita.symbolic.abc.sample import generate_patch

    @contextlib.contextmanager
    def swap():  # noqa: ANN202
        tunes.generate_patch = functools.partial(generate_patch, use_cache=False)
        try:
            yield
        finally:
            tunes.generate_patch = generate_patch
    return swap()


def one_worker():  # noqa: ANN201 - a context manager
    """Best of N one candidate after another (``PARTITA_WORKERS=1``)."""
    import contextlib

    @contextlib.contextmanager
    def swap():  # noqa: ANN202
        before = os.environ.get("PARTITA_WORKERS")
        os.environ["PARTITA_WORKERS"] = "1"
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("PARTITA_WORKERS")
            else:
                os.environ["PARTITA_WORKERS"] = before
    return swap()


def row_text_to_midi(runs: int, tmp: Path) -> list[dict]:
    from partita.compose.text_to_midi import generate, write_generation

    def ours() -> None:
        generate(JIG, candidates=4, seed=1)

    def peer() -> None:
        with no_abc_cache(), one_worker():
            generate(JIG, candidates=4, seed=1)

    rows = [{"row": "text to MIDI: 16-bar jig, best of 4, in-process",
             "peer": "the same, candidates one by one, without the KV cache",
             "target": "≤ 1.5 s", **rounds(ours, peer, runs)}]

    def warm() -> None:
        write_generation(generate(JIG, candidates=4, seed=1), tmp / "warm")

    cli = proc(PY, "-m", "partita.cli", "generate", JIG, "--seed", "1", "-o", str(tmp / "cli"))
    rows.append({"row": "text to MIDI: the same through the CLI (MIDI + MusicXML + JSON)",
                 "peer": "the same in a warm process", "target": "≤ 3 s", **rounds(cli, warm, runs)})
    return rows


def melody_30s():  # noqa: ANN201 - a Score
    from benchmarks.amt_sampling import melody

    return melody(30)


def row_accompany(runs: int, tmp: Path) -> list[dict]:
    from partita import checkpoints
    from partita.compose.accompany import accompany_best, infill
    from partita.sampling import SamplingConfig

    model = checkpoints.load("amt")[0]
    mel = melody_30s()

    def ours() -> None:
        accompany_best(model, mel, candidates=4, instruments=[0, 33], config=SamplingConfig(seed=0))

    def peer() -> None:
        accompany_best(model, mel, candidates=1, instruments=[0, 33], config=SamplingConfig(seed=0), use_cache=False)

    rows = [{"row": "accompany a 30 s melody, best of 4", "peer": "one candidate, window re-encoded every step",
             "target": "≤ 2 s", **rounds(ours, peer, max(1, runs // 2))}]
    piece = thirty_two_bars()
    start, end = bar_seconds(piece, 12), bar_seconds(piece, 16)

    def fill(use_cache: bool) -> Callable[[], None]:
        return lambda: infill(model, piece, start, end, config=SamplingConfig(seed=0), use_cache=use_cache)

    rows.append({"row": "infill bars 13-16 of a 32-bar piece", "peer": "the same without the KV cache",
                 "target": "≤ 1 s", **rounds(fill(True), fill(False), runs)})
    return rows


def thirty_two_bars():  # noqa: ANN201 - a Score
    """The first 32 bars of the quartet movement (four instruments)."""
    from music21 import corpus

    from partita.score import from_music21

    s = corpus.parse(QUARTET).measures(1, 32)
    return from_music21(s)


def bar_seconds(score, bar: int) -> float:  # noqa: ANN001
    from partita.mir.metrics import bar_starts
    from partita.score import TempoMap

    starts = bar_starts(score)
    return TempoMap(score).to_seconds(starts[min(bar, len(starts) - 1)])


def row_abc(runs: int, tmp: Path) -> list[dict]:
    import torch

    from partita import checkpoints
    from partita.compose.tunes import TuneRequest, compose
    from partita.sampling import SamplingConfig, grammar_constraint, sample
    from partita.symbolic.abc.model import AbcModelConfig, CharModel
    from partita.tokenizers import abc as T

    model, config = checkpoints.load("abc")
    request = TuneRequest()
    request.sections, request.bars_per_section, request.meter, request.rhythm = 2, 8, (6, 8), "jig"
    request.check()

    result = compose(model, request, candidates=4, seed=0)
    chars = max(64, len(result.text) * 4)
    flat_config = AbcModelConfig(**{**config.__dict__, "kind": "flat", "max_chars": max(config.max_chars, chars)})
    torch.manual_seed(0)
    flat = CharModel(flat_config).eval()
    tok = T.AbcTokenizer(flat_config.patch_size)
    prompt = [T.BOS, *tok.char_ids(request.prompt_text())]

    def peer() -> None:
        # four tunes of the same length, character by character, KV-cached, the same grammar
        for s in range(4):
            with torch.no_grad():
                sample(flat.lm, prompt, chars // 4, config=SamplingConfig(seed=s),
                       constraints=[grammar_constraint(tok.flat_grammar)], stop=lambda _: False)

    return [{"row": "ABC tune: 16-bar jig, best of 4 (bar-patch model, guarded)",
             "peer": "a flat character model of the same size, as many characters", "target": "≤ 1.5 s",
             **rounds(lambda: compose(model, request, candidates=4, seed=0), peer, runs)}]


def corpus_midis(tmp: Path, n: int = 20) -> list[Path]:
    from partita import datasets

    paths = []
    for i, piece in enumerate(datasets.load("chorales")):
        if i == n:
            break
        path = tmp / f"c{i}.mid"
        piece.score().dump_midi(str(path))
        paths.append(path)
    return paths


def row_tokenize_read(runs: int, tmp: Path) -> list[dict]:
    import mido
    from miditok import REMI
    from music21 import converter

    from partita.score import read
    from partita.tokenizers.anticipation import AnticipationTokenizer
    from partita.tokenizers.remi import RemiTokenizer, remi_config

    files = corpus_midis(tmp)
    ours_remi = RemiTokenizer()
    theirs = REMI(remi_config())
    amt = AnticipationTokenizer()
    rows = [
        {"row": f"tokenize {len(files)} chorale MIDI files, REMI", "peer": "miditok's REMI, same config",
         **rounds(lambda: [ours_remi.encode(read(f)) for f in files], lambda: [theirs.encode(f) for f in files], runs)},
        {"row": f"tokenize {len(files)} chorale MIDI files, anticipation (AMT)", "peer": "a plain mido pass",
         **rounds(lambda: [amt.encode(read(f)) for f in files],
                  lambda: [list(mido.MidiFile(f)) for f in files], runs)},
        {"row": f"read {len(files)} chorale MIDI files", "peer": "music21's MIDI parser",
         **rounds(lambda: [read(f) for f in files], lambda: [converter.parse(f) for f in files], max(1, runs // 2))},
    ]
    return rows


def row_analyze(runs: int, tmp: Path) -> list[dict]:
    from music21 import corpus

    from partita.mir.analysis import analyze
    from partita.score import from_music21, to_music21

    score = from_music21(corpus.parse("bach/bwv66.6"))
    m21 = to_music21(score)
    return [{"row": "analyze a chorale (key, tempo, meter, chords)", "peer": "music21 analyze('key') alone",
             **rounds(lambda: analyze(score), lambda: m21.analyze("key"), runs)}]


ROWS = {"startup": row_startup, "render": row_render, "text": row_text_to_midi, "accompany": row_accompany,
        "abc": row_abc, "tokenize": row_tokenize_read, "analyze": row_analyze}


def markdown(result: dict) -> str:
    lines = ["# Speed: each figure beside a peer doing the same work, in the same run", "",
             f"`python -m benchmarks.run` on {result['machine']}, {result['date']}; load average "
             f"{result['load_before']} before, {result['load_after']} after; torch threads {result['threads']}. "
             "Medians of the rounds, min-max in brackets; ratio = the median of per-round ours / peer "
             "(below 1: ours is faster). partita's bytecode is compiled first, as an install leaves it. "
             "The issue's targets are shown for the reader; none is a test.", "",
             "| row | ours (s) | peer | peer (s) | ours / peer | rounds | target |", "|---|---:|---|---:|---:|---:|---|"]
    for r in result["rows"]:
        if "error" in r:
            lines.append(f"| {r['row']} | error: {r['error']} | | | | | |")
            continue
        lines.append(f"| {r['row']} | {r['ours_s']:.2f} [{r['ours_min']:.2f}-{r['ours_max']:.2f}] | {r['peer']} | "
                     f"{r['peer_s']:.2f} [{r['peer_min']:.2f}-{r['peer_max']:.2f}] | {r['ratio']:.3g} | {r['runs']} | "
                     f"{r.get('target', '')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    import platform

    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", nargs="*", choices=sorted(ROWS), help="only these rows (the others kept from the "
                    "last results)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # partita's bytecode up to date, as an install leaves it (scripts/bootstrap.sh does the
    # same); with PYTHONDONTWRITEBYTECODE set, the processes timed here would compile it again
    compileall.compile_dir(str(ROOT / "partita"), quiet=1)
    path = OUT / "speed.json"
    old = json.loads(path.read_text()) if path.exists() and args.only else {}
    old = old if isinstance(old, dict) else {}   # the table before this layout was a bare list
    load_before = [round(x, 2) for x in os.getloadavg()]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in ROWS.items():
            if args.only and name not in args.only:
                rows += [r for r in old.get("rows", []) if r.get("group") == name]
                continue
            print(f"benchmark: {name}", file=sys.stderr)
            try:
                rows += [{**r, "group": name} for r in fn(args.runs, Path(tmp))]
            except Exception as exc:  # noqa: BLE001 - one broken row must not hide the others
                rows.append({"row": name, "group": name, "error": f"{type(exc).__name__}: {exc}"[:200]})
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{os.cpu_count()} cores, {platform.machine()}",
              "threads": torch.get_num_threads(), "load_before": load_before,
              "load_after": [round(x, 2) for x in os.getloadavg()], "rows": rows}
    OUT.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    (OUT / "speed.md").write_text(markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
