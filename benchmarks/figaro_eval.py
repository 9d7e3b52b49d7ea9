"""FIGARO's description fidelity (issue 7): the model with descriptions against the same
model trained without them (the paper's ablation), on held-out corpus pieces.

For each of ``--pieces`` test-split pieces (chorales, classical, tunes: a third each where
there are enough), its first ``--bars`` bars are described (partita.tokenizers.description)
and the model writes them from its attribute tokens and those descriptions; the output is
described again and compared bar by bar, as FIGARO's Table 2 does:

* instrument F1 (per bar, micro-averaged), chord accuracy (the bar's chord label), root
  accuracy, time-signature accuracy;
* note density, mean pitch and mean duration: mean absolute error in description bins.

The ablation model sees the same attribute tokens and ``Bar`` markers and nothing else,
so its sampler is given the piece's instruments (from the attributes) in every bar,
not the bar's own: the constraint the description would otherwise hand it.

``python -m benchmarks.figaro_eval --model checkpoints/figaro --ablation checkpoints/figaro-nodesc``
writes benchmarks/results/figaro_eval.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

OUT = Path(__file__).parent / "results"


def pieces(n: int, seed: int = 0) -> list:
    from partita import datasets

    rng = np.random.default_rng(seed)
    out = []
    names = ("chorales", "classical", "abc_tunes")
    for k, name in enumerate(names):
        pool = datasets.load_built("test", (name,))
        take = n // len(names) + (1 if k < n % len(names) else 0)
        out += [pool[i] for i in rng.permutation(len(pool))[:take]]
    return out


def targets(piece, vocab, bars: int):  # noqa: ANN001, ANN201
    """(attribute tokens, first ``bars`` bar descriptions, style) of a piece."""
    from partita.symbolic.figaro.data import piece_attributes
    from partita.tokenizers import description as D

    style = [piece.meta.get("rhythm", "").lower()] if piece.meta.get("rhythm") else []
    style += ["folk"] if piece.dataset == "abc_tunes" else ["classical"]
    if piece.dataset == "chorales":
        style.append("chorale")
    norm = vocab.remi.normalize(piece.score())
    desc = D.describe(norm)[:bars]
    return piece_attributes(norm, style, bars=len(desc)), desc, style


def compare(asked: list, got: list) -> dict:
    """Bar-by-bar agreement of two descriptions (missing bars of ``got`` count as empty)."""
    from partita.tokenizers.description import BarDescription

    got = list(got) + [BarDescription(meter="")] * max(0, len(asked) - len(got))
    tp = fp = fn = 0
    chord = root = meter = 0
    density, pitch, duration = [], [], []
    for a, g in zip(asked, got, strict=False):
        sa, sg = set(a.instruments), set(g.instruments)
        tp, fp, fn = tp + len(sa & sg), fp + len(sg - sa), fn + len(sa - sg)
        chord += a.chord == g.chord
        root += a.chord.split(":")[0] == g.chord.split(":")[0]
        meter += a.meter == g.meter
        density.append(abs(a.density - g.density))
        if a.mean_pitch is not None and g.mean_pitch is not None:
            pitch.append(abs(a.mean_pitch - g.mean_pitch))
        if a.mean_duration is not None and g.mean_duration is not None:
            duration.append(abs(a.mean_duration - g.mean_duration))
    n = max(1, len(asked))
    return {"bars": len(asked), "tp": tp, "fp": fp, "fn": fn, "chord": chord / n, "root": root / n,
            "meter": meter / n, "density_mae": float(np.mean(density)) if density else None,
            "pitch_mae": float(np.mean(pitch)) if pitch else None,
            "duration_mae": float(np.mean(duration)) if duration else None}


def run(folder: str, cases: list, seed: int) -> dict:
    from partita.sampling import SamplingConfig
    from partita.symbolic.figaro.model import load, vocab_of
    from partita.symbolic.figaro.sample import generate
    from partita.tokenizers import description as D

    model, config = load(folder)
    vocab = vocab_of(folder)
    rows, seconds, bars_written = [], 0.0, 0
    for i, (attrs, desc, _style) in enumerate(tqdm(cases, desc=Path(folder).name)):
        plan = desc
        if not config.descriptions:  # the piece's instruments everywhere: all the ablation knows
            programs = tuple(sorted({p for b in desc for p in b.instruments}))
            plan = [replace(b, instruments=programs) for b in desc]
        t0 = time.perf_counter()
        score = generate(model, vocab, attrs, plan, config=SamplingConfig(seed=seed + i),
                         descriptions=config.descriptions)
        seconds += time.perf_counter() - t0
        bars_written += len(desc)
        rows.append(compare(desc, D.describe(vocab.remi.normalize(score)) if score.note_num() else []))
    tp, fp, fn = (sum(r[k] for r in rows) for k in ("tp", "fp", "fn"))
    mean = lambda k: float(np.mean([r[k] for r in rows if r[k] is not None]))  # noqa: E731
    record = json.loads((Path(folder) / "training.json").read_text()) if (Path(folder) / "training.json").exists() else {}
    return {
        "model": folder, "descriptions": config.descriptions, "pieces": len(rows),
        "instrument_f1": 2 * tp / max(1, 2 * tp + fp + fn),
        "chord_accuracy": mean("chord"), "root_accuracy": mean("root"), "meter_accuracy": mean("meter"),
        "density_bin_mae": mean("density_mae"), "pitch_bin_mae": mean("pitch_mae"),
        "duration_bin_mae": mean("duration_mae"),
        "seconds_per_bar": seconds / max(1, bars_written),
        "heldout": record.get("heldout"), "steps": record.get("steps"), "parameters": record.get("parameters"),
    }


def markdown(results: list[dict], args) -> str:  # noqa: ANN001
    keys = [("instrument F1", "instrument_f1"), ("chord accuracy", "chord_accuracy"), ("chord root accuracy",
            "root_accuracy"), ("time signature accuracy", "meter_accuracy"), ("note density, bin error",
            "density_bin_mae"), ("mean pitch, bin error", "pitch_bin_mae"), ("mean duration, bin error",
            "duration_bin_mae"), ("seconds per bar (1 thread)", "seconds_per_bar")]
    head = "| measure | " + " | ".join("with descriptions" if r["descriptions"] else "without (ablation)"
                                        for r in results) + " |"
    lines = [f"# FIGARO description fidelity: {results[0]['pieces']} held-out pieces, first {args.bars} bars",
             "", "`python -m benchmarks.figaro_eval " + " ".join(sys.argv[1:]) + "`", "", head,
             "|---|" + "---|" * len(results)]
    for name, key in keys:
        lines.append(f"| {name} | " + " | ".join(f"{r[key]:.3f}" for r in results) + " |")
    lines.append("| held-out REMI loss (bits/token) | " + " | ".join(
        str((r.get("heldout") or {}).get("remi_bits_per_token")) for r in results) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[dict]:
    from partita.symbolic.figaro.model import JointVocab

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="checkpoints/figaro")
    ap.add_argument("--ablation", help="the same model trained with --no-descriptions")
    ap.add_argument("--pieces", type=int, default=30)
    ap.add_argument("--bars", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="figaro_eval")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    vocab = JointVocab()
    cases = []
    for p in pieces(args.pieces * 2, args.seed):
        try:
            attrs, desc, style = targets(p, vocab, args.bars)
        except Exception:  # noqa: BLE001 - a piece the tokenizer cannot take is skipped
            continue
        if len(desc) == args.bars:
            cases.append((attrs, desc, style))
    cases = cases[: args.pieces]
    results = [run(args.model, cases, args.seed)]
    if args.ablation:
        results.append(run(args.ablation, cases, args.seed))
    OUT.mkdir(exist_ok=True)
    (OUT / f"{args.out}.json").write_text(json.dumps(results, indent=1))
    (OUT / f"{args.out}.md").write_text(markdown(results, args))
    print(markdown(results, args))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
