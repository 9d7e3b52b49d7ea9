"""The corpus build: where its time goes, and whether two builds hold the same content.

    # CPU seconds per piece of each dataset, and the functions that take them (cProfile)
    nice -n 19 python benchmarks/corpus_build.py profile --pieces 60
    # two caches, piece by piece: ids, failures, notes, bars, keys, meters, and each MIDI's
    # tracks, notes, meters, keys and tempos
    python benchmarks/corpus_build.py compare /tmp/cache-old /tmp/cache-new

The build's wall and CPU time are measured around the CLI itself:
``PARTITA_CACHE=/tmp/c /usr/bin/time -v partita data build`` (results in
``benchmarks/results/corpus_build.md``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import sys
import time
from pathlib import Path

SUMMARY = ("notes", "bars", "tracks", "seconds", "key", "meter")
LISTING = ("dataset", "collection", "title", "split", "source", "tune", "meta")


def profile(pieces: int, seed: int, top: int) -> None:
    """Parse a random sample of each dataset in this process under cProfile."""
    import torch

    from partita import datasets
    from partita.datasets.cache import _convert

    torch.set_num_threads(1)
    for name in datasets.DATASETS:
        listed = list(datasets.iter_dataset(name))
        random.Random(seed).shuffle(listed)
        sample = listed[:pieces]
        _convert(sample[0])  # imports and music21's first-use caches, not counted
        start = time.process_time()
        for piece in sample[1:]:
            _convert(piece)
        per_piece = (time.process_time() - start) / max(1, len(sample) - 1)
        prof = cProfile.Profile()  # the same pieces again, profiled (cProfile slows them down)
        prof.enable()
        for piece in sample[1:]:
            _convert(piece)
        prof.disable()
        print(f"## {name}: {per_piece * 1000:.1f} ms CPU per piece over {len(sample) - 1} pieces, unprofiled "
              f"(x {len(listed)} pieces = {per_piece * len(listed):.0f} CPU s)")
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
        print(out.getvalue().split("\n", 6)[-1])


def _midi_content(data: bytes | None) -> object:
    """What a MIDI file holds, independent of how it is encoded."""
    if data is None:
        return None
    from symusic import Score

    s = Score.from_midi(data)
    return (s.ticks_per_quarter,
            [(t.name, t.program, t.is_drum, [(n.time, n.duration, n.pitch, n.velocity) for n in t.notes])
             for t in s.tracks],
            [(x.time, x.numerator, x.denominator) for x in s.time_signatures],
            [(x.time, x.key, x.tonality) for x in s.key_signatures],
            [(x.time, round(x.qpm, 3)) for x in s.tempos])


def compare(old: Path, new: Path, datasets: list[str], limit: int | None) -> int:
    """Compare the caches under two cache folders piece by piece; print a summary; return
    the number of pieces that differ."""
    import pyarrow.parquet as pq

    columns = ["id", "error", "midi", *SUMMARY, *LISTING]
    differ = 0
    results = {}
    for name in datasets:
        rows_a = pq.read_table(old / "corpus" / f"{name}.parquet", columns=columns).to_pylist()
        rows_b = pq.read_table(new / "corpus" / f"{name}.parquet", columns=columns).to_pylist()
        a, b = {r["id"]: r for r in rows_a}, {r["id"]: r for r in rows_b}
        ids = sorted(set(a) & set(b))
        if limit:
            ids = random.Random(0).sample(ids, min(limit, len(ids)))
        counts = {"old_rows": len(rows_a), "new_rows": len(rows_b), "ids": len(a), "only_old": len(set(a) - set(b)), "only_new": len(set(b) - set(a)),
                  "same_order": [r["id"] for r in rows_a] == [r["id"] for r in rows_b],
                  "compared": len(ids), "same_bytes": 0, "same_content": 0, "failed_both": 0, "differ": 0}
        examples = []
        for i in ids:
            x, y = a[i], b[i]
            if x["error"] and y["error"]:
                counts["failed_both"] += 1
                continue
            fields = [k for k in (*SUMMARY, *LISTING) if x[k] != y[k]]
            if x["midi"] == y["midi"] and not fields:
                counts["same_bytes"] += 1
            elif not fields and _midi_content(x["midi"]) == _midi_content(y["midi"]):
                counts["same_content"] += 1
            else:
                counts["differ"] += 1
                if len(examples) < 10:
                    examples.append({"id": i, "fields": fields, "old_error": x["error"], "new_error": y["error"]})
        differ += counts["differ"] + counts["only_old"] + counts["only_new"] + (not counts["same_order"])
        results[name] = {**counts, "examples": examples}
        print(f"{name}: {json.dumps(counts)}")
        for e in examples:
            print("   ", json.dumps(e))
    return differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("profile", help="CPU per piece and cProfile of each dataset's conversion")
    p.add_argument("--pieces", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top", type=int, default=25)
    c = sub.add_parser("compare", help="compare two cache folders piece by piece")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    c.add_argument("--datasets", default="abc_tunes,chorales,classical")
    c.add_argument("--limit", type=int, help="a random sample of this many pieces per dataset (default: all)")
    args = parser.parse_args(argv)
    if args.command == "profile":
        profile(args.pieces, args.seed, args.top)
        return 0
    differ = compare(args.old, args.new, args.datasets.split(","), args.limit)
    print(f"{differ} piece(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
