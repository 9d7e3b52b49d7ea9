"""The anticipatory model's numbers (issue 6), on held-out pieces the model never saw.

* Accompaniment of the test-split chorales with the soprano as the melody (oboe, as in the
  wind-quartet voicing of training) and the accompaniment asked of clarinet, horn and
  bassoon: harmonic support of the melody (generated against Bach's own lower parts), the
  output's key against the original's (both estimated by ``partita.mir.key``), and the share
  of the melody's time the accompaniment sounds.
* Infill of the same chorales, the middle third of the bars regenerated: notes outside the
  span unchanged, the span filled (share of its time with notes), generated notes in the key.
* Both with the sampling guards (key, harmony, cover: the CLI default) and, with ``--free``,
  the model alone.
* Bits per second (the paper's figure of merit) and bits per event of held-out
  autoregressive sequences, for the anticipatory model and for the autoregressive baseline.

``python -m benchmarks.amt_eval --model checkpoints/amt-small --baseline PATH [--candidates N]``
writes benchmarks/results/amt_eval.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

OUT = Path(__file__).parent / "results"
WIND = (68, 71, 60, 70)  # oboe, clarinet, horn, bassoon: one of the chorale voicings of training


def chorales(split: str = "test") -> list:
    from partita import datasets

    return [p for p in datasets.load("chorales", split=split) if len(p.score().tracks) == 4]


def voiced(score):  # noqa: ANN001, ANN201 - Score in and out
    out = score.copy()
    for track, program in zip(out.tracks, WIND, strict=False):
        track.program = program
        track.name = f"program {program}"
    return out


def _key(score):  # noqa: ANN001, ANN202
    from partita.mir.key import estimate_key

    est = estimate_key(score)
    return None if est is None else (est.tonic, est.mode)


def accompaniment(model, pieces: list, candidates: int, seed: int, guided: bool = True) -> dict:  # noqa: ANN001
    from partita.compose.accompany import accompany_best
    from partita.mir import metrics as M
    from partita.sampling import SamplingConfig

    rows = []
    for i, piece in enumerate(tqdm(pieces, desc="accompany")):
        full = voiced(piece.score())
        melody = full.copy()
        del melody.tracks[1:]
        t0 = time.perf_counter()
        chosen, _ = accompany_best(model, melody, candidates=candidates, instruments=list(WIND[1:]),
                                   config=SamplingConfig(seed=seed + 100 * i), guided=guided)
        seconds = time.perf_counter() - t0
        out, gen = chosen.value, chosen.report
        mel = M.note_spans(full, tracks=[0])
        bach = M.note_spans(full, tracks=[1, 2, 3])
        k_orig, k_out = _key(full), _key(out)
        rows.append({"id": piece.id, "title": piece.title, "melody_notes": len(mel),
                     "support": gen["harmonic_support"], "coverage": gen["coverage"],
                     "bach_support": M.harmonic_support(mel, bach, tolerance=0.05),
                     "bach_coverage": M.coverage(mel, bach),
                     "key_original": k_orig, "key_output": k_out, "key_match": k_orig == k_out,
                     "accompaniment_notes": sum(len(t.notes) for t in out.tracks[1:]),
                     "bach_notes": sum(len(t.notes) for t in full.tracks[1:]),
                     "seconds": round(seconds, 2), "music_seconds": round(M.note_spans(full)[-1][1], 1)})
    mean = lambda k: float(np.mean([r[k] for r in rows]))  # noqa: E731
    return {"pieces": len(rows), "candidates": candidates, "harmonic_support": mean("support"),
            "bach_harmonic_support": mean("bach_support"),
            "support_ratio": mean("support") / mean("bach_support"),
            "key_match": mean("key_match"), "coverage": mean("coverage"), "bach_coverage": mean("bach_coverage"),
            "accompaniment_notes_per_bach_note": sum(r["accompaniment_notes"] for r in rows)
            / max(1, sum(r["bach_notes"] for r in rows)),
            "seconds_per_piece": mean("seconds"), "rows": rows}


def triples(score, lo: int, hi: int, inside: bool) -> list:  # noqa: ANN001
    """(track, time, duration, pitch) of notes whose 10 ms onset is (not) in [lo, hi)."""
    from partita.score import TempoMap

    tmap = TempoMap(score)
    out = []
    for i, track in enumerate(score.tracks):
        for n in track.notes:
            t = round(tmap.to_seconds(n.time) * 100)
            if (lo <= t < hi) == inside:
                out.append((i, n.time, n.duration, n.pitch))
    return sorted(out)


def infilling(model, pieces: list, seed: int, guided: bool = True) -> dict:  # noqa: ANN001
    from partita.compose.accompany import infill
    from partita.mir import metrics as M
    from partita.mir.metrics import bar_starts
    from partita.sampling import SamplingConfig
    from partita.score import TempoMap

    rows = []
    for i, piece in enumerate(tqdm(pieces, desc="infill")):
        full = voiced(piece.score())
        starts = bar_starts(full)
        n = len(starts)
        first, last = n // 3 + 1, max(n // 3 + 1, 2 * n // 3)  # 1-based, inclusive
        tmap = TempoMap(full)
        ticks = [*starts, full.end()]
        s0, s1 = tmap.to_seconds(ticks[first - 1]), tmap.to_seconds(ticks[last])
        lo, hi = round(s0 * 100), round(s1 * 100)
        t0 = time.perf_counter()
        out = infill(model, full, s0, s1, config=SamplingConfig(seed=seed + 100 * i), guided=guided)
        seconds = time.perf_counter() - t0
        kept = triples(full, lo, hi, inside=False) == triples(out, lo, hi, inside=False)
        new = triples(out, lo, hi, inside=True)
        key = _key(full)
        spans = [(on, off, p) for on, off, p in M.note_spans(out) if s0 - 1e-6 <= on < s1]
        filled = M.coverage([(s0, s1, 0)], [(max(on, s0), min(off, s1), p) for on, off, p in spans])
        rows.append({"id": piece.id, "bars": [first, last], "span_s": [round(s0, 2), round(s1, 2)],
                     "outside_unchanged": kept, "span_notes": len(new),
                     "original_span_notes": len(triples(full, lo, hi, inside=True)),
                     "span_filled": filled, "in_key": M.in_key_share([p for *_, p in new], key),
                     "seconds": round(seconds, 2)})
    valid = [r["in_key"] for r in rows if not math.isnan(r["in_key"])]
    return {"pieces": len(rows), "outside_unchanged": float(np.mean([r["outside_unchanged"] for r in rows])),
            "span_filled": float(np.mean([r["span_filled"] for r in rows])),
            "spans_with_notes": float(np.mean([r["span_notes"] > 0 for r in rows])),
            "in_key": float(np.mean(valid)) if valid else float("nan"),
            "notes_per_original_note": sum(r["span_notes"] for r in rows)
            / max(1, sum(r["original_span_notes"] for r in rows)),
            "seconds_per_piece": float(np.mean([r["seconds"] for r in rows])), "rows": rows}


def bits_per_second(model, limit: int | None = None) -> dict:  # noqa: ANN001
    """Bits of held-out music under the model: test-split chorales (wind voicing), classical
    pieces and tunes as plain autoregressive event sequences, windows of 341 events taken
    back to back, each window's times from zero (as in training)."""
    import random

    from partita import datasets
    from partita.symbolic.amt.data import SEQ_LEN, assign_programs
    from partita.symbolic.amt.train import grammar_loss
    from partita.tokenizers import anticipation as A

    rng = random.Random(0)
    result = {}
    for name in ("chorales", "classical", "abc_tunes"):
        pieces = list(datasets.load(name, split="test"))[: limit or None]
        bits = seconds = events = 0.0
        for piece in tqdm(pieces, desc=f"bits ({name})"):
            score = assign_programs(piece.dataset, piece.score(), rng)
            try:
                ev = A.midi_to_events(score)
            except Exception:  # noqa: BLE001
                continue
            triples = [ev[i:i + 3] for i in range(0, len(ev), 3)]
            per = (SEQ_LEN - 1) // 3
            piece_end = A.max_time(ev) + max(d - A.DUR_OFFSET for d in ev[1::3])
            for j in range(0, len(triples), per):
                chunk = [t for tr in triples[j:j + per] for t in tr]
                t0 = A.min_time(chunk)
                t1 = A.min_time(triples[j + per]) if j + per < len(triples) else piece_end
                chunk = A.translate(chunk, -t0)
                if A.max_time(chunk) >= A.MAX_TIME:
                    continue
                seconds += (t1 - t0) / A.TIME_RESOLUTION
                x = torch.tensor([[A.AUTOREGRESS, *chunk]])
                with torch.no_grad():
                    nats = grammar_loss(model, x, reduction="none").sum().item()
                bits += nats / math.log(2)
                events += len(chunk) // 3
        result[name] = {"pieces": len(pieces), "bits_per_second": bits / max(seconds, 1e-9),
                        "bits_per_event": bits / max(events, 1), "events": int(events), "seconds": round(seconds, 1)}
    return result


def main(argv: list[str] | None = None) -> dict:
    from partita import checkpoints
    from partita.symbolic.amt.model import load

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="checkpoint folder (default: the shipped amt-small)")
    ap.add_argument("--baseline", help="the autoregressive baseline's checkpoint (bits per second only)")
    ap.add_argument("--candidates", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, help="pieces per part")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: accompany,infill,bits")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--free", action="store_true", help="sample without the key, harmony and cover guards")
    ap.add_argument("--out", default="amt_eval")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    skip = set(args.skip.split(","))
    model, _ = load(checkpoints.resolve(args.model, "amt"))
    args.model = args.model or f"checkpoints/{checkpoints.folder('amt').name}"   # the label in the results
    pieces = chorales("test")[: args.limit or None]
    result: dict = {"model": args.model, "guided": not args.free}
    if "accompany" not in skip:
        result["accompany"] = accompaniment(model, pieces, args.candidates, args.seed, guided=not args.free)
    if "infill" not in skip:
        result["infill"] = infilling(model, pieces, args.seed, guided=not args.free)
    if "bits" not in skip:
        result["bits"] = {"anticipatory": bits_per_second(model, args.limit)}
        if args.baseline:
            result["bits"]["autoregressive"] = bits_per_second(load(args.baseline)[0], args.limit)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{args.out}.json").write_text(json.dumps(result, indent=1, default=str))
    summary = {k: {kk: vv for kk, vv in v.items() if kk != "rows"} if isinstance(v, dict) else v
               for k, v in result.items()}
    (OUT / f"{args.out}.md").write_text(markdown(summary))
    print(json.dumps(summary, indent=1, default=str))
    return result


def markdown(summary: dict) -> str:
    """The numbers against the issue's bars, as a table."""
    how = "with the key, harmony and cover guards" if summary.get("guided", True) else "the model alone (--free)"
    if not summary.get("accompany") and not summary.get("infill"):
        how = "likelihood only"
    lines = [f"# Anticipatory model on held-out pieces ({summary.get('model')}, {how})", "",
             "| measure | value | bar |", "|---|---|---|"]
    acc = summary.get("accompany")
    if acc:
        lines += [
            f"| harmonic support of the soprano (generated / Bach's own parts) | {acc['harmonic_support']:.3f} / "
            f"{acc['bach_harmonic_support']:.3f} = {acc['support_ratio']:.2f} | >= 0.90 |",
            f"| key of the output = key of the original | {acc['key_match']:.2f} | >= 0.90 |",
            f"| accompaniment sounding during the melody | {acc['coverage']:.2f} | >= 0.75 |",
            f"| accompaniment notes per note of Bach's lower parts | {acc['accompaniment_notes_per_bach_note']:.2f} | |",
            f"| seconds per chorale (best of {acc['candidates']}) | {acc['seconds_per_piece']:.1f} | |"]
    inf = summary.get("infill")
    if inf:
        lines += [
            f"| infill: notes outside the span unchanged | {inf['outside_unchanged']:.3f} | 1.00 |",
            f"| infill: spans with notes / share of span time sounding | {inf['spans_with_notes']:.2f} / "
            f"{inf['span_filled']:.2f} | filled |",
            f"| infill: generated notes in the piece's key | {inf['in_key']:.2f} | >= 0.80 |",
            f"| infill: notes per original note of the span | {inf['notes_per_original_note']:.2f} | |"]
    for name, parts in (summary.get("bits") or {}).items():
        for ds, r in parts.items():
            lines.append(f"| {name}: {ds} bits per second / per event | {r['bits_per_second']:.1f} / "
                         f"{r['bits_per_event']:.2f} | |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main(sys.argv[1:])
