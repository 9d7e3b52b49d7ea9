"""`partita batch` throughput (issue 17): jobs per minute with 1 and 2 workers on this machine.

The jobs: ABC tunes from the shipped model (one candidate each, a different prompt and seed per
job) and soundfont renders of a corpus chorale, in one file. Each worker count runs the whole
file into a fresh folder through the CLI (so the time includes starting the processes and
loading the model once per worker).

``python -m benchmarks.batch`` writes results/batch.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "results"
PROMPTS = ("a lively reel in D", "a jig in G", "a hornpipe in A", "a slow air in E minor", "a polka in D",
           "a march in G", "a waltz in C", "a slip jig in A minor")


def write_jobs(folder: Path, n_abc: int, n_render: int) -> Path:
    from partita import datasets

    folder.mkdir(parents=True, exist_ok=True)
    chorale = next(iter(datasets.load("chorales")))
    (folder / "chorale.mid").write_bytes(chorale.midi)
    jobs = [{"id": f"abc-{i}", "kind": "abc", "prompt": PROMPTS[i % len(PROMPTS)], "seed": i, "candidates": 1}
            for i in range(n_abc)]
    jobs += [{"id": f"wav-{i}", "kind": "render", "input": "chorale.mid", "seed": i} for i in range(n_render)]
    path = folder / "jobs.jsonl"
    path.write_text("\n".join(json.dumps(j) for j in jobs) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=Path("/tmp/partita-batch-bench"))
    ap.add_argument("--abc", type=int, default=8)
    ap.add_argument("--render", type=int, default=4)
    args = ap.parse_args()
    jobs = write_jobs(args.root, args.abc, args.render)
    rows = []
    for workers in (1, 2):
        out = args.root / f"out-{workers}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "partita.cli", "batch", str(jobs), "-o", str(out), "--workers",
                               str(workers), "--quiet"], capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        seconds = time.perf_counter() - t0
        records = [json.loads(p.read_text()) for p in sorted(out.glob("*/job.json"))]
        ok = sum(r["status"] == "ok" for r in records)
        rows.append({"workers": workers, "jobs": len(records), "ok": ok, "seconds": round(seconds, 1),
                     "jobs_per_minute": round(60 * len(records) / seconds, 1),
                     "job_seconds_median": sorted(r["seconds"] for r in records)[len(records) // 2],
                     "exit": done.returncode})
        print(json.dumps(rows[-1]), flush=True)
    rows[1]["speedup"] = round(rows[0]["seconds"] / rows[1]["seconds"], 2)
    load = os.getloadavg()[0]
    OUT.mkdir(exist_ok=True)
    (OUT / "batch.json").write_text(json.dumps({"rows": rows, "load_average": load}, indent=1))
    lines = [f"`partita batch` over {args.abc} ABC tunes (shipped model, one candidate each) and {args.render} "
             "soundfont renders of a chorale; whole command timed (process start and model loading included).", "",
             "| workers | jobs | ok | seconds | jobs/minute | median job, s |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['workers']} | {r['jobs']} | {r['ok']} | {r['seconds']} | {r['jobs_per_minute']} "
              f"| {r['job_seconds_median']} |" for r in rows]
    lines += ["", f"2 workers / 1 worker: {rows[1]['speedup']}x. Load average at the end: {load:.1f} on "
              f"{os.cpu_count()} cores shared with other sessions."]
    (OUT / "batch.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
