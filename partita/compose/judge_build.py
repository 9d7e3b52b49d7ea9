"""Rebuild the style judges (``partita/mir/style_judge.json``): for each tune style, the
shipped ABC model writes candidates for prompts apart from the musicality benchmark's (other
keys, lengths and seeds), four a request as ``partita abc`` writes them, and a logistic
regression learns to tell them from the corpus's train-split tunes
(:func:`partita.mir.style_judge.fit`). The held-out pieces are never read.

``python -m partita.compose.judge_build`` (about 8 minutes on one core).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence

from partita.mir.style_judge import FILE, TUNE_STYLES, fit

STYLE_WORDS = {"jig": "jig", "reel": "reel", "hornpipe": "hornpipe", "slip_jig": "slip jig",
               "german_folk": "German folk song"}
KEYS = ("C major", "D major", "G major", "A major", "F major", "E minor", "A minor", "D minor", "B minor",
        "G minor", "D dorian", "E dorian", "A mixolydian", "G mixolydian", "B flat major", "E flat major")
BARS = (8, 12, 16, 16, 24, 32)
REQUESTS = 40
"""Requests per style the model writes candidates for (4 candidates each)."""
REAL_LIMIT = 300
"""Train-split tunes per style (all when fewer)."""
SEED = 100
"""The first request's seed (the benchmark's requests use 0-2)."""


def model_candidates(model, style: str, requests: int = REQUESTS, seed: int = SEED,  # noqa: ANN001
                     progress: bool = True) -> list[dict[str, float]]:
    """Melody features of the ABC model's candidates (4 a request, as ``partita abc`` writes
    them) for ``requests`` prompts of ``style``."""
    from tqdm import tqdm

    from partita.compose.tunes import patch_budget, request_from_prompt, write_candidate
    from partita.mir.musicality import abc_score, melody_features

    rng = random.Random(f"{style}-{seed}")
    out = []
    for j in tqdm(range(requests), desc=f"judge {style}", disable=not progress):
        prompt = f"a {STYLE_WORDS[style]} in {rng.choice(KEYS)}, {rng.choice(BARS)} bars"
        s = seed + j
        request, _ = request_from_prompt(prompt, seed=s)
        text = request.prompt_text()
        budget = patch_budget(request, text)
        for k in range(4):
            tune, _report, _ = write_candidate(model, text, request, seed=s * 4 + k, max_patches=budget)
            try:
                out.append(melody_features(abc_score(tune)))
            except Exception:  # noqa: BLE001 - a tune music21 cannot read teaches nothing
                continue
    return out


def build(styles: Sequence[str] = TUNE_STYLES, requests: int = REQUESTS, progress: bool = True) -> dict:
    """Judges for ``styles``: train-split tunes against the shipped ABC model's candidates."""
    import torch

    from partita import checkpoints
    from partita.mir.musicality import MELODY_FEATURES, corpus_records
    from partita.mir.style_judge import C

    torch.set_num_threads(1)
    model = checkpoints.load("abc")[0]
    names = [n for n in MELODY_FEATURES if n != "notes_per_onset"]   # 1.0 for every single line
    out: dict = {"requests": requests, "real_limit": REAL_LIMIT, "c": C, "styles": {}}
    t0 = time.perf_counter()
    for style in styles:
        real = [r["melody"] for r in corpus_records(style, split="train", limit=REAL_LIMIT, progress=progress)]
        fake = model_candidates(model, style, requests, progress=progress)
        out["styles"][style] = fit(real, fake, names)
    out["seconds"] = round(time.perf_counter() - t0)
    return out


if __name__ == "__main__":
    from partita.fileio import write_text_atomic

    data = build()
    write_text_atomic(FILE, json.dumps(data, indent=1) + "\n")
    print({s: (j["real"], j["fake"], j["cv_balanced_accuracy"]) for s, j in data["styles"].items()})
