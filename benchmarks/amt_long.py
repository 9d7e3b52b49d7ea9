"""Long melodies with the anticipatory model: each hand-written melody of examples/melodies
played over and over to three minutes, accompanied (piano, one guided candidate, seed 0)
through the sliding context, and measured per 30 s: harmonic support, coverage, the
accompaniment's notes and their mean length. What a user gets in minute three should be
what they get in the first half-minute.

``python -m benchmarks.amt_long [--model checkpoints/amt-small] [--threads 1]``
Writes benchmarks/results/amt_long.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results"
SECONDS = 180.0
WINDOW = 30.0


def looped(path: Path, seconds: float = SECONDS):
    """The melody of ``path`` (a flute) repeated, whole bars apart, to at least ``seconds``."""
    from symusic import Note

    from partita.score import duration_seconds, read

    score = read(path)
    track = score.tracks[0]
    track.program = 73
    del score.tracks[1:]
    notes = list(track.notes)
    end = max(n.time + n.duration for n in notes)
    bar = score.ticks_per_quarter * 4 * score.time_signatures[0].numerator // score.time_signatures[0].denominator \
        if len(score.time_signatures) else score.ticks_per_quarter * 4
    span = -(-end // bar) * bar
    reps = int(np.ceil(seconds / duration_seconds(score)))
    for r in range(1, reps):
        track.notes.extend(Note(n.time + r * span, n.duration, n.pitch, n.velocity) for n in notes)
    return score


def measure(accompanied, seconds: float) -> list[dict]:  # noqa: ANN001 - a Score
    """Support, coverage, notes and mean note length of the accompaniment in each window."""
    from partita.mir import metrics as M

    mel = M.note_spans(accompanied, tracks=[0])
    acc = M.note_spans(accompanied, tracks=list(range(1, len(accompanied.tracks))))
    rows = []
    for lo in np.arange(0.0, seconds, WINDOW):
        m = [s for s in mel if lo <= s[0] < lo + WINDOW]
        a = [s for s in acc if lo <= s[0] < lo + WINDOW]
        if not m:
            continue
        rows.append({"from_s": float(lo), "support": round(M.harmonic_support(m, acc, tolerance=0.05), 3),
                     "coverage": round(M.coverage(m, acc), 3), "notes": len(a),
                     "mean_length_s": round(float(np.mean([off - on for on, off, _ in a])), 3) if a else 0.0})
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    import torch

    from partita import checkpoints
    from partita.compose.accompany import accompaniment_scores, accompany
    from partita.sampling import SamplingConfig
    from partita.score import duration_seconds
    from partita.symbolic.amt.model import load

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="checkpoint folder (default: the shipped amt-small)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, _ = load(checkpoints.resolve(args.model, "amt"))
    args.model = args.model or f"checkpoints/{checkpoints.folder('amt').name}"   # the label in the results
    results = []
    for path in sorted(Path("examples/melodies").glob("*.abc")):
        melody = looped(path)
        t0 = time.perf_counter()
        out = accompany(model, melody, instruments=[0], config=SamplingConfig(seed=0))
        elapsed = time.perf_counter() - t0
        whole = accompaniment_scores(melody, out)
        row = {"melody": path.stem, "seconds": round(duration_seconds(melody), 1),
               "melody_notes": len(melody.tracks[0].notes), "wall_s": round(elapsed, 1),
               "support": round(whole["harmonic_support"], 3), "coverage": round(whole["coverage"], 3),
               "windows": measure(out, duration_seconds(melody))}
        results.append(row)
        print(json.dumps(row), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "amt_long.json").write_text(json.dumps({"model": args.model, "threads": args.threads,
                                                   "results": results}, indent=1))
    lines = [f"Long melodies (`python -m benchmarks.amt_long --model {args.model}`, {args.threads} thread(s)): "
             "each melody of examples/melodies looped to 3 minutes, piano accompaniment, one guided "
             "candidate, seed 0. Per 30 s window: support / coverage / accompaniment notes / mean note length (s).",
             "", "| melody | length (s) | notes | wall (s) | support | coverage | per 30 s window |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        cells = "; ".join(f"{w['support']:.2f}/{w['coverage']:.2f}/{w['notes']}/{w['mean_length_s']:.2f}"
                          for w in r["windows"])
        lines.append(f"| {r['melody']} | {r['seconds']} | {r['melody_notes']} | {r['wall_s']} | "
                     f"{r['support']:.3f} | {r['coverage']:.3f} | {cells} |")
    (OUT / "amt_long.md").write_text("\n".join(lines) + "\n")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
