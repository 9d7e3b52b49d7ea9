"""The ABC model's numbers (issue 8): validity and control of 200 samples, held-out loss,
and generation speed against the flat character-level baseline of the same size.

Requests come from held-out (test-split) corpus tunes: their own control codes (S, B, E)
and header (M, L, Q, R, K); the model writes the body. A sample is *valid* when music21
parses it and every inner bar adds up to the meter; ``S`` / ``B`` are honoured when the
sections and bars per section read back from its barlines are the asked ones; the key is
as asked when the key measured from the notes (partita.mir.key) is the K: field's
(major and minor keys only: the measure has no modes).

``python -m benchmarks.abc_eval --model checkpoints/abc-tunesformer --flat checkpoints/abc-flat``
writes benchmarks/results/abc_eval.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

OUT = Path(__file__).parent / "results"


def requests(n: int, seed: int = 0) -> list[tuple[str, object, str]]:
    """(prompt text: controls + header, TuneRequest, the original tune with its controls)
    of ``n`` held-out tunes."""
    from partita.compose.tunes import TuneRequest
    from partita.mir.key import parse_key
    from partita.symbolic.abc.data import corpus_tunes
    from partita.tokenizers import abc as T

    rng = np.random.default_rng(seed)
    texts = corpus_tunes("test")
    out = []
    for i in rng.permutation(len(texts)):
        try:
            norm = T.normalize_abc(texts[i])
            codes = T.control_codes(norm)
        except (ValueError, KeyError, IndexError):
            continue
        header, _ = T.split_tune(norm)
        fields = dict(line.rstrip("\n").split(":", 1) for line in header)
        m = re.fullmatch(r"(\d+)/(\d+)", fields.get("M", ""))
        if not m or not codes.sections or len(set(codes.bars)) != 1:
            continue
        key = parse_key(fields["K"].strip()) or None
        letters: list[str] = []
        for sims in codes.similarity:  # E:10 to an earlier section: the same letter
            same = next((j for j, v in enumerate(sims) if v == 10), None)
            letters.append(letters[same] if same is not None else "ABCDEFGH"[len(set(letters))])
        req = TuneRequest(sections=codes.sections, bars_per_section=codes.bars[0], form="".join(letters),
                          meter=(int(m.group(1)), int(m.group(2))), key=key or (0, "unknown"))
        try:
            req.check()
        except Exception:  # noqa: BLE001 - out-of-range forms are skipped
            continue
        out.append((T.format_control_codes(codes) + "".join(header), req, T.format_control_codes(codes) + norm))
        if len(out) == n:
            break
    return out


def sample_best(model, prompt_text: str, request, seed: int, candidates: int, guarded: bool):  # noqa: ANN001, ANN201
    """The best of ``candidates`` samples by the request's checks (as ``compose`` keeps them):
    (text, report, seconds, characters generated over all candidates)."""
    from partita.compose.rerank import best_of_n
    from partita.compose.tunes import tune_rank, write_candidate

    chosen, written = best_of_n(lambda s: write_candidate(model, prompt_text, request, seed=s, guarded=guarded),
                                lambda c: (c[1], tune_rank(c[1])), n=candidates, seed=seed * 1000)
    seconds = sum(c.value[2] for c in written)
    chars = sum(len(c.value[0]) - len(prompt_text) for c in written)
    return chosen.value[0], chosen.report, seconds, chars


def sample_flat(model, prompt_text: str, seed: int) -> tuple[str, float]:  # noqa: ANN001
    from partita.symbolic.abc.sample import generate_flat
    from partita.tokenizers import abc as T

    tok = T.AbcTokenizer(model.config.patch_size)
    t0 = time.perf_counter()
    new = generate_flat(model, [T.BOS, *tok.char_ids(prompt_text)], seed=seed)
    return prompt_text + tok.decode_flat(new), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    from partita.symbolic.abc.data import corpus_tunes, encode_tunes
    from partita.symbolic.abc.guards import check_tune
    from partita.symbolic.abc.model import load
    from partita.symbolic.abc.train import evaluate

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="checkpoints/abc-tunesformer")
    ap.add_argument("--flat", help="the flat baseline's checkpoint (loss and speed), or 'random': a flat model "
                    "of the same size with random weights (speed per character only)")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--speed-samples", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="abc_eval")
    ap.add_argument("--candidates", type=int, default=1, help="samples per request, the best kept (compose's rule)")
    ap.add_argument("--no-guard", action="store_true", help="the model's text as sampled (no FormGuard)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, _ = load(args.model)
    reqs = requests(args.samples)
    rows = []
    originals = [check_tune(orig, req) for _, req, orig in reqs]
    for i, (prompt, req, _) in enumerate(tqdm(reqs, desc="samples")):
        text, rep, seconds, chars = sample_best(model, prompt, req, i, args.candidates, not args.no_guard)
        rows.append({"request": prompt, "report": rep, "seconds": seconds, "chars": chars, "text": text})
    share = lambda f: float(np.mean([bool(f(r["report"])) for r in rows]))  # noqa: E731
    keyed = [r for r in rows if r["report"].get("key_ok") is not None]
    result = {
        "model": args.model, "samples": len(rows), "guarded": not args.no_guard, "candidates": args.candidates,
        "repaired_bars_per_tune": float(np.mean([r["report"].get("repaired_bars", 0) for r in rows])),
        "seconds_per_tune": float(np.mean([r["seconds"] for r in rows])),
        "parses": share(lambda r: r.get("parses")), "valid": share(lambda r: r.get("valid")),
        "sections_honoured": share(lambda r: r.get("sections_ok")),
        "bars_honoured": share(lambda r: r.get("bars_ok")),
        "form_honoured": share(lambda r: r.get("form_ok")),
        "meter_as_asked": share(lambda r: r.get("meter_ok")),
        "key_as_asked": float(np.mean([bool(r["report"]["key_ok"]) for r in keyed])) if keyed else None,
        "key_samples": len(keyed),
        # the same checks on the held-out tunes themselves: the ceiling the checks allow
        "originals": {k: float(np.mean([bool(r.get(k)) for r in originals]))
                      for k in ("parses", "valid", "sections_ok", "bars_ok", "form_ok", "key_ok")},
    }
    valid_rows = encode_tunes(corpus_tunes("test"))[:400]
    result["heldout"] = {"patch": evaluate(model, valid_rows)}
    speed = {"patch": [r["seconds"] / max(1, r["chars"]) for r in rows[: args.speed_samples]]}
    if args.flat:
        if args.flat == "random":
            from dataclasses import replace

            from partita.symbolic.abc.model import build

            torch.manual_seed(0)
            flat = build(replace(model.config, kind="flat")).eval()
        else:
            flat, _ = load(args.flat)
            result["heldout"]["flat"] = evaluate(flat, valid_rows)
        speed["flat"] = []
        for i, (prompt, _, _) in enumerate(tqdm(reqs[: args.speed_samples], desc="flat speed")):
            text, seconds = sample_flat(flat, prompt, seed=i)
            speed["flat"].append(seconds / max(1, len(text) - len(prompt)))
        result["flat"] = args.flat
    result["ms_per_char"] = {k: 1000 * float(np.mean(v)) for k, v in speed.items()}
    if "flat" in speed:
        result["speedup"] = result["ms_per_char"]["flat"] / result["ms_per_char"]["patch"]
    OUT.mkdir(exist_ok=True)
    (OUT / f"{args.out}.json").write_text(json.dumps({**result, "rows": rows}, indent=1, default=str))
    print(json.dumps(result, indent=1, default=str))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
