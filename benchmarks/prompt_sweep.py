"""Random well-formed prompts through ``generate`` with the models (issue 18).

The byte fuzzer (``benchmarks/fuzz.py``) runs prompts with ``--arranger-only``: it never
loads the writers, so it cannot meet what they do with a style, key, meter and instruments
that no test names. This sweep draws prompts from the parser's own vocabulary (every dance and
style word, every instrument word, 1-3 instruments, keys, modes, lengths, sometimes a tempo or
a meter) and runs each through :func:`partita.compose.text_to_midi.generate` as the CLI does
(best of 4, the writers the style picks). A run ends in a piece, in a PartitaError (a clear
refusal), or in any other exception: a failure, listed with its prompt and seed.

``python -m benchmarks.prompt_sweep --prompts 200 --seed 1`` (about 2 s a prompt).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "results"
KEYS = ("C", "D", "E flat", "F sharp", "G", "A", "B flat", "B", "C sharp", "A flat")
MODES = ("major", "minor", "dorian", "mixolydian")
BARS = (4, 8, 12, 16, 24, 32, 48, 64)
METERS = ("3/4", "6/8", "5/4", "7/8", "2/2", "9/8", "12/8")


def prompts(n: int, seed: int) -> list[tuple[str, int]]:
    """``n`` (prompt, seed) pairs drawn from the parser's vocabulary."""
    from partita.text import vocab

    rng = random.Random(seed)
    styles = sorted(vocab.DANCES) + sorted(s for s in vocab.STYLES if isinstance(s, str)) + ["German folk song"]
    instruments = sorted(w for w in vocab.INSTRUMENT_WORDS if isinstance(w, str))
    out = []
    for _ in range(n):
        words = " and ".join(rng.sample(instruments, rng.randint(1, 3)))
        text = f"a {rng.choice(styles)} in {rng.choice(KEYS)} {rng.choice(MODES)} for {words}, {rng.choice(BARS)} bars"
        if rng.random() < 0.3:
            text += f" at {rng.randint(40, 220)} bpm"
        if rng.random() < 0.2:
            text += f" in {rng.choice(METERS)}"
        out.append((text, rng.randint(0, 10**6)))
    return out


def main(argv: list[str] | None = None) -> dict:
    import torch
    from tqdm import tqdm

    from partita.compose.text_to_midi import generate
    from partita.errors import PartitaError

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="a JSON file for this run (default: only printed)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    counts = {"piece": 0, "refused": 0, "failure": 0}
    failures, refusals = [], []
    t0 = time.perf_counter()
    for text, seed in tqdm(prompts(args.prompts, args.seed), desc="prompts"):
        try:
            generate(text, seed=seed, model="auto")
            counts["piece"] += 1
        except PartitaError as exc:
            counts["refused"] += 1
            refusals.append({"prompt": text, "seed": seed, "error": str(exc)[:200]})
        except Exception as exc:  # noqa: BLE001 - what the sweep looks for
            counts["failure"] += 1
            failures.append({"prompt": text, "seed": seed, "error": f"{type(exc).__name__}: {exc}"[:300]})
    result = {"prompts": args.prompts, "seed": args.seed, "seconds": round(time.perf_counter() - t0),
              **counts, "failures": failures, "refusals": refusals}
    print(json.dumps({k: v for k, v in result.items() if k != "refusals"}, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1:])["failure"] else 0)
