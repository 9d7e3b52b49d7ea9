"""One command, one table: the speed of each stage of partita, each next to the obvious
baseline measured in the same run on the same inputs.

    python -m benchmarks.run            # writes benchmarks/results/speed.{json,md}

| stage | ours | baseline |
|---|---|---|
| tokenize | REMI / anticipation / ABC tokenizers over corpus pieces | music21 parsing of the same pieces |
| generate | `partita generate`, one 16-bar candidate | - (the time is the figure; target ≤ 10 s) |
| render | embedded soundfont renderer (tinysoundfont) | FluidSynth CLI on the same MIDI |
| transcribe | Basic Pitch (ONNX) | real time (audio seconds) |
| analyze | `partita.mir.analyze` | music21 `analyze('key')` alone |

Throughput is given in the unit of each stage; ratio = baseline time / our time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._util import timed

OUT = Path(__file__).parent / "results"


def corpus_pieces(n: int = 20):
    from partita import datasets

    pieces = []
    for p in datasets.load("chorales"):
        pieces.append(p)
        if len(pieces) >= n:
            break
    return pieces


def bench_tokenize(rows: list[dict]) -> None:
    from music21 import corpus

    from partita import datasets
    from partita.score import from_music21

    pieces = corpus_pieces(10)
    scores = [p.score() for p in pieces]
    names = [p.id.split(":", 1)[1] for p in pieces]
    base = timed(lambda: [from_music21(corpus.parse(n)) for n in names], repeat=1)
    tokenizers = []
    try:
        from partita.tokenizers.remi import RemiTokenizer

        tokenizers.append(("REMI", RemiTokenizer()))
    except ImportError:
        pass
    try:
        from partita.tokenizers.anticipation import AnticipationTokenizer

        tokenizers.append(("anticipation", AnticipationTokenizer()))
    except ImportError:
        pass
    for name, tok in tokenizers:
        n_tokens = sum(len(tok.encode(s)) for s in scores)
        ours = timed(lambda tok=tok: [tok.encode(s) for s in scores])
        rows.append({"stage": f"tokenize ({name})", "ours_s": ours, "baseline": "music21 parse of the same 10 chorales",
                     "baseline_s": base, "throughput": f"{n_tokens / ours:,.0f} tokens/s"})
    del datasets


def bench_generate(rows: list[dict]) -> None:
    from partita.compose.text_to_midi import generate

    generate("warm up in C major for piano, 4 bars", candidates=1)
    one = timed(lambda: generate("a jig in D major for fiddle, 16 bars", candidates=1), repeat=3)
    four = timed(lambda: generate("a jig in D major for fiddle, 16 bars", candidates=4), repeat=3)
    rows.append({"stage": "generate 16 bars, 1 candidate", "ours_s": one, "baseline": "target 10 s",
                 "baseline_s": 10.0, "throughput": f"{16 / one:.1f} bars/s"})
    rows.append({"stage": "generate 16 bars, best of 4", "ours_s": four, "baseline": "target 30 s",
                 "baseline_s": 30.0, "throughput": f"{64 / four:.1f} bars/s"})


def bench_render_transcribe_analyze(rows: list[dict]) -> None:
    from music21 import corpus

    from partita.mir.analysis import analyze
    from partita.score import from_music21, to_music21

    score = from_music21(corpus.parse("bach/bwv66.6"))
    seconds = float(score.to("second").end())
    try:
        from partita.audio_render import render

        render(score)  # warm
        ours = timed(lambda: render(score))
        exe, sf2 = shutil.which("fluidsynth"), Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
        base = None
        if exe and sf2.exists():
            with tempfile.TemporaryDirectory() as tmp:
                mid = Path(tmp) / "a.mid"
                score.dump_midi(str(mid))
                cmd = [exe, "-ni", "-q", "-r", "44100", "-F", str(Path(tmp) / "a.wav"), str(sf2), str(mid)]
                base = timed(lambda: subprocess.run(cmd, check=True, capture_output=True))
        rows.append({"stage": "render (soundfont)", "ours_s": ours, "baseline": "FluidSynth CLI, FluidR3",
                     "baseline_s": base, "throughput": f"{seconds / ours:.0f}x real time"})
        from partita.mir.transcribe import transcribe

        audio, sr = render(score)
        mono = audio.mean(axis=1)
        transcribe((mono, sr))  # warm: model load
        tr = timed(lambda: transcribe((mono, sr)), repeat=1)
        rows.append({"stage": "transcribe (Basic Pitch ONNX)", "ours_s": tr, "baseline": "real time",
                     "baseline_s": seconds, "throughput": f"{seconds / tr:.1f}x real time"})
    except ImportError:
        pass
    analyze(score)
    ours = timed(lambda: analyze(score))
    m21 = to_music21(score)
    base = timed(lambda: m21.analyze("key"), repeat=1)
    rows.append({"stage": "analyze", "ours_s": ours, "baseline": "music21 analyze('key') only",
                 "baseline_s": base, "throughput": f"{score.note_num() / ours:,.0f} notes/s"})


def main() -> int:
    rows: list[dict] = []
    for bench in (bench_tokenize, bench_generate, bench_render_transcribe_analyze):
        try:
            bench(rows)
        except Exception as exc:  # noqa: BLE001 - one broken stage must not hide the others
            rows.append({"stage": bench.__name__, "error": f"{type(exc).__name__}: {exc}"[:200]})
    for r in rows:
        if r.get("baseline_s") and r.get("ours_s"):
            r["ratio"] = round(r["baseline_s"] / r["ours_s"], 2)
    OUT.mkdir(exist_ok=True)
    (OUT / "speed.json").write_text(json.dumps(rows, indent=1))
    lines = ["| stage | ours (s) | throughput | baseline | baseline (s) | ratio |", "|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['stage']} | error: {r['error']} | | | | |")
            continue
        base = f"{r['baseline_s']:.3f}" if r.get("baseline_s") else "n/a"
        lines.append(f"| {r['stage']} | {r['ours_s']:.3f} | {r['throughput']} | {r['baseline']} | {base} | "
                     f"{r.get('ratio', 'n/a')} |")
    (OUT / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
