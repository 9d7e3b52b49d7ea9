"""Seconds to accompany a 30-second melody with the anticipatory model, with the KV cache
(one token fed per step) and without it (the whole window re-encoded every step, as the
reference implementation samples), in one run on the same model and seed.

Give the shipped checkpoint (``python -m benchmarks.amt_sampling checkpoints/amt-small``);
without one, a random model of 4 layers x 256 stands in (its accompaniment is noise and
stops early, so only the trained model's timing is the user's). Both paths sample with the
same seed and report whether they wrote the same notes.
Writes benchmarks/results/amt_sampling.{json,md}.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from symusic import Note, Track

OUT = Path(__file__).parent / "results"


def melody(seconds: int = 30):
    from partita.score import new_score

    score = new_score(qpm=120)
    track = Track("melody", 73, False)
    pitches = [72, 74, 76, 77, 79, 77, 76, 74]
    for i in range(seconds * 2):
        track.notes.append(Note(i * 480, 420, pitches[i % len(pitches)], 90))
    score.tracks.append(track)
    return score


def main(model_path: str | None = None) -> dict:
    from partita.compose.accompany import accompany
    from partita.sampling import SamplingConfig
    from partita.symbolic.amt.model import amt_config, build_model, load

    torch.manual_seed(0)
    model = load(model_path)[0] if model_path else build_model(amt_config()).eval()
    mel = melody()
    rows = {}
    outputs = {}
    for use_cache in (True, False):
        t = time.perf_counter()
        # the whole job a user runs: accompany the 30 s melody (piano and bass), same seed
        out = accompany(model, mel, instruments=[0, 33], config=SamplingConfig(seed=0), use_cache=use_cache)
        key = "kv_cache" if use_cache else "re_encode"
        outputs[key] = [(n.time, n.duration, n.pitch) for t_ in out.tracks[1:] for n in t_.notes]
        rows[key] = {"seconds": round(time.perf_counter() - t, 2), "notes": len(outputs[key])}
    rows["same_output"] = outputs["kv_cache"] == outputs["re_encode"]
    result = {"melody_seconds": 30, "model": model_path or "random weights, 4x256", "threads": torch.get_num_threads(),
              **rows, "speedup": round(rows["re_encode"]["seconds"] / rows["kv_cache"]["seconds"], 2)}
    OUT.mkdir(exist_ok=True)
    (OUT / "amt_sampling.json").write_text(json.dumps(result, indent=1))
    md = ("| path | seconds to accompany a 30 s melody | accompaniment notes |\n|---|---|---|\n"
          f"| KV cache | {rows['kv_cache']['seconds']} | {rows['kv_cache']['notes']} |\n"
          f"| re-encode window (reference) | {rows['re_encode']['seconds']} | {rows['re_encode']['notes']} |\n"
          f"\nSpeed-up {result['speedup']}x ({result['model']}, {result['threads']} threads); "
          f"same notes on both paths: {rows['same_output']}.\n")
    (OUT / "amt_sampling.md").write_text(md)
    print(md)
    return result


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
