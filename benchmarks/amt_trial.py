"""A new user's first try of the anticipatory model: accompany the hand-written melodies in
examples/melodies (not in the corpus) with two ensembles, write MIDI, WAV and a piano-roll
PNG of each, and print what the MIR tools measure (harmonic support, coverage, key).

``python -m benchmarks.amt_trial --model checkpoints/amt-small -o trial/``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ENSEMBLES = {"piano": [0], "viola+cello": [41, 42]}


def main(argv: list[str] | None = None) -> list[dict]:
    from partita import checkpoints
    from partita.audio_render import render_to_file
    from partita.compose.accompany import accompany_best
    from partita.mir.key import estimate_key
    from partita.pianoroll import plot
    from partita.sampling import SamplingConfig
    from partita.score import read, write
    from partita.symbolic.amt.model import load
    from partita.theory import key_to_name

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="checkpoint folder (default: the shipped amt-small)")
    ap.add_argument("-o", "--output", default="trial")
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, _ = load(checkpoints.resolve(args.model, "amt"))
    out = Path(args.output)
    rows = []
    for path in sorted(Path("examples/melodies").glob("*.abc")):
        melody = read(path)
        for track in melody.tracks:
            track.program = 73  # a flute plays the tune
        for name, programs in ENSEMBLES.items():
            chosen, every = accompany_best(model, melody, candidates=args.candidates, instruments=programs,
                                           config=SamplingConfig(seed=0))
            acc, best, scores = chosen.value, chosen.report, [c.report for c in every]
            stem = f"{path.stem}-{name.replace('+', '-')}"
            write(acc, out / f"{stem}.mid")
            render_to_file(acc, out / f"{stem}.wav", seed=0)
            plot(acc, out / f"{stem}.png", title=f"{path.stem}: flute + {name}")
            k_mel, k_out = estimate_key(melody), estimate_key(acc)
            row = {"melody": path.stem, "ensemble": name, **{k: round(v, 3) for k, v in best.items()},
                   "candidates": [round(s["harmonic_support"], 3) for s in scores],
                   "key_melody": key_to_name(k_mel.tonic, k_mel.mode), "key_output": key_to_name(k_out.tonic, k_out.mode),
                   "accompaniment_notes": sum(len(t.notes) for t in acc.tracks[len(melody.tracks):])}
            rows.append(row)
            print(json.dumps(row), flush=True)
    (out / "trial.json").write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
