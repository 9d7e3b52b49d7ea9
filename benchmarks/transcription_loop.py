"""Render-then-transcribe loop: corpus melodies played on piano by the embedded soundfont
renderer, transcribed back with Basic Pitch, scored note by note with mir_eval.

Writes benchmarks/results/transcription_loop.{json,md}. Usage:
    python -m benchmarks.transcription_loop [N]      # N melodies from the test split (default 40)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "results"


def main(n: int = 40, seconds: float = 20.0) -> dict:
    from partita import datasets
    from partita.audio_render import render
    from partita.mir.metrics import note_scores
    from partita.mir.transcribe import transcribe

    rows = []
    t0 = time.perf_counter()
    for piece in datasets.load("abc_tunes", split="test"):
        score = piece.score()
        sec = score.to("second")
        if sec.end() < 8:
            continue
        end_tick = int(score.end() * min(1.0, seconds / sec.end()))
        score = score.clip(0, end_tick, clip_end=True)
        for track in score.tracks:
            track.program = 0
        audio, sr = render(score, engine="soundfont", humanize=False)
        heard = transcribe((audio.mean(axis=1), sr))
        s = note_scores(score, heard)
        rows.append({"piece": piece.id, "notes": score.note_num(), **{k: round(v, 4) for k, v in s.items()}})
        if len(rows) >= n:
            break
    result = {
        "melodies": len(rows),
        "seconds_each": seconds,
        "onset_f1": round(statistics.mean(r["onset_f1"] for r in rows), 4),
        "onset_precision": round(statistics.mean(r["onset_precision"] for r in rows), 4),
        "onset_recall": round(statistics.mean(r["onset_recall"] for r in rows), 4),
        "offset_f1": round(statistics.mean(r["offset_f1"] for r in rows), 4),
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "rows": rows,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "transcription_loop.json").write_text(json.dumps(result, indent=1))
    md = (f"Render (embedded soundfont, piano, no humanizer) then transcribe (Basic Pitch ONNX, onset 0.7 / "
          f"frame 0.4), {result['melodies']} corpus test-split melodies, first {seconds:g} s each.\n\n"
          "| onset P | onset R | onset F1 | onset+offset F1 |\n|---|---|---|---|\n"
          f"| {result['onset_precision']:.3f} | {result['onset_recall']:.3f} | {result['onset_f1']:.3f} | "
          f"{result['offset_f1']:.3f} |\n")
    (OUT / "transcription_loop.md").write_text(md)
    print(md)
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
