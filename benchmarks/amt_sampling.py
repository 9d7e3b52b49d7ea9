"""Seconds to accompany a 30-second melody with the anticipatory model, with the KV cache
(one token fed per step) and without it (the whole window re-encoded every step, as the
reference implementation samples), in one run on the same model and seed.

The model has the shipped size (4 layers x 256) with random weights when no checkpoint is
given: speed does not depend on what the weights learned, only the token count does, so
both paths sample exactly the same number of events (same seed, same tokens).
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
    from partita.symbolic.anticipatory import amt_config, build_model, generate_events, load_model
    from partita.symbolic.sampling import SamplingConfig
    from partita.tokenizers import anticipation as A

    torch.manual_seed(0)
    model = load_model(model_path) if model_path else build_model(amt_config()).eval()
    mel = melody()
    rows = {}
    controls = [tok + A.CONTROL_OFFSET for tok in A.midi_to_events(mel)]
    for use_cache in (True, False):
        t = time.perf_counter()
        # the same work on both paths: 240 accompaniment events over the 30 s (time moves at
        # most 25 ticks = 250 ms per event), with the melody's 60 notes anticipated
        new = generate_events(model, start=0, end=3000, controls=controls, instruments=[0, 33],
                              config=SamplingConfig(seed=0), use_cache=use_cache, max_step=25, max_events=240)
        rows["kv_cache" if use_cache else "re_encode"] = {"seconds": round(time.perf_counter() - t, 2),
                                                          "notes": len(new) // 3}
    result = {"melody_seconds": 30, "model": model_path or "random weights, 4x256", "threads": torch.get_num_threads(),
              **rows, "speedup": round(rows["re_encode"]["seconds"] / rows["kv_cache"]["seconds"], 2)}
    OUT.mkdir(exist_ok=True)
    (OUT / "amt_sampling.json").write_text(json.dumps(result, indent=1))
    md = ("| path | seconds for 240 accompaniment events (30 s melody) | events |\n|---|---|---|\n"
          f"| KV cache | {rows['kv_cache']['seconds']} | {rows['kv_cache']['notes']} |\n"
          f"| re-encode window (reference) | {rows['re_encode']['seconds']} | {rows['re_encode']['notes']} |\n"
          f"\nSpeed-up {result['speedup']}x ({result['model']}, {result['threads']} threads).\n")
    (OUT / "amt_sampling.md").write_text(md)
    print(md)
    return result


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
