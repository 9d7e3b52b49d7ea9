"""Accompaniment of simple tunes: twelve well-known public-domain melodies, typed in here (not
from the corpus), accompanied the way ``partita accompany tune.mid`` does it (no
``--instruments``, best of 4), and measured: does the accompaniment's own key agree with the
melody's (or its relative), and what share of melody notes does it support (a chord tone or a
consonance with its lowest note at the onset, as partita.mir.metrics.harmonic_support)?

``python -m benchmarks.accompany_tunes [--candidates 4] [-o benchmarks/results/accompany_tunes]``

Runs against whichever partita is importable: the code of an older commit can be measured
with the same script (the results say which API it used).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

TUNES = {
    "twinkle": ("C", "4/4", "1/4", "C C G G | A A G2 | F F E E | D D C2 | G G F F | E E D2 | G G F F | E E D2 | "
                "C C G G | A A G2 | F F E E | D D C2 |]"),
    "frere_jacques": ("G", "4/4", "1/4", "G A B G | G A B G | B c d2 | B c d2 | d/2e/2d/2c/2 B G | "
                      "d/2e/2d/2c/2 B G | G D G2 | G D G2 |]"),
    "ode_to_joy": ("D", "4/4", "1/4", "F F G A | A G F E | D D E F | F3/2 E/2 E2 | F F G A | A G F E | "
                   "D D E F | E3/2 D/2 D2 |]"),
    "mary_lamb": ("C", "4/4", "1/4", "E D C D | E E E2 | D D D2 | E G G2 | E D C D | E E E E | D D E D | C4 |]"),
    "yankee_doodle": ("G", "2/4", "1/8", "GGAB | GBA D | GGAB | G2 F2 | GGAB | cBAG | FDEF | G2 G2 |]"),
    "london_bridge": ("C", "4/4", "1/4", "G3/2 A/2 G F | E F G2 | D E F2 | E F G2 | G3/2 A/2 G F | E F G2 | "
                      "D2 G2 | E C2 z |]"),
    "row_your_boat": ("C", "6/8", "1/8", "C3 C3 | C2 D E3 | E2 D E2 F | G6 | ccc GGG | EEE CCC | G2 F E2 D | C6 |]"),
    "amazing_grace": ("G", "3/4", "1/4", "G2 B/2G/2 | B2 A | G2 E | D3 | G2 B/2G/2 | B2 A/2B/2 | d3 | d3 | "
                      "d2 B/2G/2 | B2 A | G2 E | D3 | G2 B/2G/2 | B2 A | G3 | G3 |]"),
    "au_clair_de_la_lune": ("C", "4/4", "1/4", "C C C D | E2 D2 | C E D D | C4 | C C C D | E2 D2 | C E D D | C4 | "
                            "D D D D | A,2 A,2 | D C B, A, | G,4 | C C C D | E2 D2 | C E D D | C4 |]"),
    "jingle_bells": ("G", "4/4", "1/4", "B B B2 | B B B2 | B d G3/2 A/2 | B4 | c c c3/2 c/2 | c B B B/2B/2 | "
                     "B A A B | A2 d2 | B B B2 | B B B2 | B d G3/2 A/2 | B4 | c c c c | c B B B/2B/2 | "
                     "d d c A | G4 |]"),
    "greensleeves": ("Am", "6/8", "1/8", "c2 d e3/2f/2e | d2 B G3/2A/2B | c2 A A3/2^G/2A | B2 ^G E2 A | "
                     "c2 d e3/2f/2e | d2 B G3/2A/2B | c3/2B/2A ^G3/2^F/2^G | A3 A3 |]"),
    "auld_lang_syne": ("F", "4/4", "1/4", "F3/2 F/2 F A | G3/2 F/2 G A | F3/2 F/2 A c | d4 | d3/2 c/2 A A | "
                       "F3/2 G/2 F G | F3/2 D/2 D C | F4 |]"),
}


def tune_score(name: str):  # noqa: ANN201 - a Score
    from partita.score import abc_to_score

    key, meter, unit, body = TUNES[name]
    score = abc_to_score(f"X:1\nT:{name}\nM:{meter}\nL:{unit}\nQ:1/4=100\nK:{key}\n{body}\n")
    for track in score.tracks:
        track.program = 73   # a flute plays the tune
    return score


def accompany_api():  # noqa: ANN201 - (accompany_best, load, SamplingConfig, which)
    """The accompaniment API of the partita on the path: the redesigned one or the old one."""
    try:
        from partita.compose.accompany import accompany_best
        from partita.sampling import SamplingConfig
        from partita.symbolic.amt.model import load

        return (accompany_best, (lambda folder: load(folder)[0]), SamplingConfig,
                "compose.accompany (chord guide from the tune's harmony, piano + bass by default)")
    except ImportError:
        from partita.symbolic.anticipatory import accompany_best, load_model
        from partita.symbolic.sampling import SamplingConfig

        return accompany_best, load_model, SamplingConfig, "symbolic.anticipatory (before: key guide, the model's instruments)"


def related(a: tuple[int, str], b: tuple[int, str]) -> bool:
    """Same key, or relative major/minor."""
    if a == b:
        return True
    major, minor = (a, b) if a[1] == "major" else (b, a)
    return major[1] == "major" and minor[1] == "minor" and (major[0] - 3) % 12 == minor[0]


def main(argv: list[str] | None = None) -> dict:
    from partita.mir import metrics as M
    from partita.mir.key import estimate_key

    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--model", default="checkpoints/amt-small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", default="benchmarks/results/accompany_tunes")
    ap.add_argument("--label", default=None, help="a name for this run in the results")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    accompany_best, load, SamplingConfig, which = accompany_api()  # noqa: N806 - a class
    model = load(args.model)

    rows = []
    t0 = time.perf_counter()
    for name in TUNES:
        melody = tune_score(name)
        best = accompany_best(model, melody, candidates=args.candidates, config=SamplingConfig(seed=args.seed))[0]
        out = best.value if hasattr(best, "value") else best
        n = len(melody.tracks)
        mel = M.note_spans(out, tracks=list(range(n)))
        acc_tracks = list(range(n, len(out.tracks)))
        acc = M.note_spans(out, tracks=acc_tracks)
        k_mel = estimate_key(melody)
        acc_only = out.copy()
        acc_only.tracks = [out.tracks[i] for i in acc_tracks]
        k_acc = estimate_key(acc_only) if acc_only.note_num() else None
        row = {"tune": name, "key_melody": [k_mel.tonic, k_mel.mode],
               "key_accompaniment": None if k_acc is None else [k_acc.tonic, k_acc.mode],
               "key_agrees": bool(k_acc is not None and related((k_mel.tonic, k_mel.mode), (k_acc.tonic, k_acc.mode))),
               "support": round(M.harmonic_support(mel, acc), 3),
               "coverage": round(M.coverage(mel, acc), 3),
               "instruments": sorted({out.tracks[i].program for i in acc_tracks}),
               "accompaniment_notes": sum(len(out.tracks[i].notes) for i in acc_tracks)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {"api": which, "label": args.label or which, "candidates": args.candidates, "seed": args.seed,
               "tunes": len(rows), "key_agreement": round(sum(r["key_agrees"] for r in rows) / len(rows), 3),
               "support": round(sum(r["support"] for r in rows) / len(rows), 3),
               "coverage": round(sum(r["coverage"] for r in rows) / len(rows), 3),
               "seconds": round(time.perf_counter() - t0, 1), "rows": rows}
    out = Path(args.output + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}))
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
