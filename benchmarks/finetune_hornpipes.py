"""Fine-tuning the shipped ABC model on one collection (issue 17): the hornpipes.

Steps (the model card is benchmarks/results/finetune_hornpipes.md):

1. ``python -m benchmarks.finetune_hornpipes prepare --folder /tmp/hp`` writes the corpus
   hornpipes (O'Neill's, Ryan's, Aird's; R: hornpipe in common time) of the corpus *train* split
   as an ABC folder ``/tmp/hp/train`` (the shipped model was trained on the corpus train split,
   so these are tunes it has seen) and shards it:
   ``partita data shard /tmp/hp/train -o /tmp/hp/shards --tokenizer abc --shards 8``.
2. ``partita train abc --data /tmp/hp/shards --from checkpoints/abc-tunesformer -o /tmp/hp/model ...``
3. ``python -m benchmarks.finetune_hornpipes evaluate --model /tmp/hp/model`` measures, for the
   shipped and the fine-tuned model: the loss per character on the corpus's held-out hornpipes
   (valid + test splits: neither model trained on them) and held-out reels (what the
   fine-tuning costs elsewhere), and the melody features of tunes each writes for held-out
   hornpipes' own prompts (control codes and header), against the held-out hornpipes'
   feature bands (partita.mir.musicality), writing results/finetune_hornpipes.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

OUT = Path(__file__).parent / "results"
SHIPPED = "checkpoints/abc-tunesformer"


def held_out_texts(style: str) -> list[str]:
    from partita.mir.musicality import HELD_OUT, corpus_pieces

    return [p.text for p in corpus_pieces(style) if p.split in HELD_OUT and p.text]


def prepare(folder: Path) -> None:
    from partita.mir.musicality import corpus_pieces

    train = [p for p in corpus_pieces("hornpipe") if p.split == "train" and p.text]
    (folder / "train").mkdir(parents=True, exist_ok=True)
    by_book: dict[str, list[str]] = {}
    for p in train:
        by_book.setdefault(p.collection, []).append(p.text.strip() + "\n")
    for book, texts in by_book.items():
        (folder / "train" / f"{book}.abc").write_text("\n".join(texts), encoding="utf-8")
    print(f"{len(train)} training hornpipes in {folder / 'train'}; held out: {len(held_out_texts('hornpipe'))}")


def losses(model, texts: list[str]) -> dict:  # noqa: ANN001
    from partita.symbolic.abc.data import encode_tunes
    from partita.symbolic.abc.train import evaluate

    rows = encode_tunes(texts, model.config.patch_size)
    return {**evaluate(model, rows), "tunes": len(rows)}


def tunes(model, prompts: list, seed: int) -> list[dict]:  # noqa: ANN001
    from partita.compose.tunes import write_candidate
    from partita.mir.musicality import abc_score, melody_features

    out = []
    for i, (prompt, request, _) in enumerate(prompts):
        text, report, seconds = write_candidate(model, prompt, request, seed=seed + i, guarded=True)
        try:
            features = melody_features(abc_score(text))
        except Exception as exc:  # noqa: BLE001 - a tune music21 cannot read counts as such
            features = {"error": str(exc)[:100]}
        out.append({"text": text, "valid": bool(report.get("valid")), "features": features, "seconds": seconds})
    return out


def hornpipe_prompts(n: int, seed: int) -> list:
    """(prompt: control codes + header, TuneRequest, original) of held-out hornpipes, built as
    benchmarks.abc_eval builds its requests, with the common-time meters C and C| read as
    4/4 and 2/2 (abc_eval keeps numeric meters only, and hornpipes are written in C or C|)."""
    import re

    from partita.compose.tunes import TuneRequest
    from partita.mir.key import parse_key
    from partita.tokenizers import abc as T

    out = []
    for text in held_out_texts("hornpipe"):
        try:
            norm = T.normalize_abc(text)
            codes = T.control_codes(norm)
        except (ValueError, KeyError, IndexError):
            continue
        header, _ = T.split_tune(norm)
        fields = dict(line.rstrip("\n").split(":", 1) for line in header)
        meter = {"C": "4/4", "C|": "2/2"}.get(fields.get("M", "").strip(), fields.get("M", ""))
        m = re.fullmatch(r"(\d+)/(\d+)", meter)
        if not m or not codes.sections or len(set(codes.bars)) != 1:
            continue
        letters: list[str] = []
        for sims in codes.similarity:
            same = next((j for j, v in enumerate(sims) if v == 10), None)
            letters.append(letters[same] if same is not None else "ABCDEFGH"[len(set(letters))])
        req = TuneRequest(sections=codes.sections, bars_per_section=codes.bars[0], form="".join(letters),
                          meter=(int(m.group(1)), int(m.group(2))), key=parse_key(fields["K"].strip()) or (0, "unknown"))
        try:
            req.check()
        except Exception:  # noqa: BLE001 - out-of-range forms are skipped
            continue
        out.append((T.format_control_codes(codes) + "".join(header), req, norm))
    return out[:n]


def notation_features(texts: list[str]) -> dict:
    """Per bar of the tune bodies: broken-rhythm marks (``>``/``<``, the dotted hornpipe
    lilt written out) and triplets (``(3``) - the notation a hornpipe is recognised by."""
    from partita.tokenizers import abc as T

    bars = broken = triplets = 0
    for text in texts:
        try:
            _, body = T.split_tune(T.normalize_abc(text))
        except (ValueError, KeyError, IndexError):
            continue
        bars += max(1, len(T.split_bars(body)))
        broken += body.count(">") + body.count("<")
        triplets += body.count("(3")
    return {"bars": bars, "broken_rhythm_per_bar": round(broken / max(bars, 1), 3),
            "triplets_per_bar": round(triplets / max(bars, 1), 3)}


def median_features(records: list[dict]) -> dict:
    from partita.mir.musicality import MELODY_FEATURES

    out = {}
    for f in MELODY_FEATURES:
        values = [r.get(f, math.nan) for r in records]
        values = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
        out[f] = round(float(torch.tensor(values).median()), 3) if values else math.nan
    return out


def evaluate_models(model_dirs: list[str], n: int, seed: int) -> dict:
    from partita.mir.musicality import MELODY_FEATURES, compare, corpus_records
    from partita.symbolic.abc.model import load

    reference = [r["melody"] for r in corpus_records("hornpipe", split="heldout", limit=None)]
    reels = held_out_texts("reel")
    horn = held_out_texts("hornpipe")
    prompts = hornpipe_prompts(n, seed)
    result: dict = {"held_out_hornpipes": len(horn), "held_out_reels": len(reels), "prompts": len(prompts),
                    "reference_pieces": len(reference)}
    result["reference_notation"] = notation_features(horn)
    for name, path in (("shipped", SHIPPED), *((Path(m).name, m) for m in model_dirs)):
        model, _ = load(path)
        t0 = time.perf_counter()
        written = tunes(model, prompts, seed)
        ok = [w["features"] for w in written if "error" not in w["features"]]
        cmp = compare(reference, ok, MELODY_FEATURES, seed=seed)
        medians = median_features(ok)
        result[name] = {"hornpipe_loss": losses(model, horn), "reel_loss": losses(model, reels),
                        "valid_tunes": sum(w["valid"] for w in written), "parsed": len(ok),
                        "in_band": cmp["in_band"], "mean_oa": cmp["mean_oa"], "classifier": cmp["classifier"],
                        "oa": cmp["oa"], "medians": medians, "seconds": round(time.perf_counter() - t0, 1),
                        "notation": notation_features([w["text"] for w in written]),
                        "tunes": [w["text"] for w in written]}
    result["reference_medians"] = median_features(reference)
    return result


def main() -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=["prepare", "evaluate"])
    ap.add_argument("--folder", type=Path, default=Path("/tmp/hp"))
    ap.add_argument("--model", action="append", help="fine-tuned model folders (repeatable)")
    ap.add_argument("--tunes", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.action == "prepare":
        prepare(args.folder)
        return
    models = args.model or ["/tmp/hp/model"]
    result = evaluate_models(models, args.tunes, args.seed)
    result["training"] = {}
    for m in models:
        training = json.loads((Path(m) / "training.json").read_text())
        result["training"][Path(m).name] = {k: training.get(k) for k in (
            "steps", "train_tunes", "valid_tunes", "batch_size", "lr", "train_seconds", "heldout", "heldout_before",
            "init_from")}
    OUT.mkdir(exist_ok=True)
    (OUT / "finetune_hornpipes.json").write_text(json.dumps(result, indent=1))
    names = ["shipped", *(Path(m).name for m in models)]
    print(json.dumps({k: v for k, v in result.items() if k not in names}, indent=1))
    for name in names:
        r = result[name]
        print(name, json.dumps({k: r[k] for k in ("hornpipe_loss", "reel_loss", "valid_tunes", "in_band", "mean_oa",
                                                  "classifier", "medians", "notation")}))


if __name__ == "__main__":
    main()
