"""Shard building speed and memory (issue 17): pieces per second of ``partita data shard`` on a
synthetic MIDI folder, at 2k and 20k files, against a plain one-process loop (the peer: read each
file with symusic, tokenize it with the same REMI tokenizer, write one Parquet file).

The folder: the corpus chorales (from the corpus cache; built first if missing) rendered to MIDI
and varied - transposed by -5..+6 semitones and tempo-scaled by 0.75, 1, 1.25, 1.5, 2 - in a
Lakh-style tree of 16 sub-folders, under /tmp (never in the repository).

``python -m benchmarks.shard --root /tmp/partita-shard-bench`` writes results/shard.{json,md}.
Peak memory is the largest summed resident memory of the command and its worker processes,
sampled every 0.1 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "results"
SHIFTS = tuple(range(-5, 7))
TEMPO_SCALES = (0.75, 1.0, 1.25, 1.5, 2.0)


def synth_folder(root: Path, count: int) -> Path:
    """``count`` MIDI files under ``root/<count>/``: corpus chorales, transposed and tempo-scaled."""
    from symusic import Score

    from partita import datasets

    folder = root / str(count)
    if folder.is_dir() and sum(1 for _ in folder.rglob("*.mid")) == count:
        return folder
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    try:
        sources = list(datasets.load("chorales"))
    except Exception:  # noqa: BLE001 - not built yet
        datasets.build(["chorales"], progress=False)
        sources = list(datasets.load("chorales"))
    made = 0
    for scale in TEMPO_SCALES:
        for shift in SHIFTS:
            for piece in sources:
                if made == count:
                    return folder
                score = Score.from_midi(piece.midi).shift_pitch(shift)
                for tempo in score.tempos:
                    tempo.qpm = tempo.qpm * scale
                # the running number keeps names apart (the chorale listing repeats a few titles)
                name = f"{made:05d}_{piece.id.split(':')[-1].replace('/', '_')}_t{shift:+d}_x{scale}.mid"
                sub = folder / hashlib.sha1(name.encode()).hexdigest()[0]
                sub.mkdir(parents=True, exist_ok=True)
                score.dump_midi(str(sub / name))
                made += 1
    raise SystemExit(f"only {made} variations of {len(sources)} chorales; asked for {count}")


def measure(command: list[str]) -> dict:
    """Wall seconds and peak summed RSS (MB) of a command and its children."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed: {err[-500:]}")
    return {"seconds": time.perf_counter() - t0, "peak_mb": peak / 1e6, "stdout": out.strip().splitlines()[-2:]}


PEER = """
import sys, time, pyarrow as pa, pyarrow.parquet as pq, torch
from pathlib import Path
from symusic import Score
from partita.tokenizers.remi import RemiTokenizer
torch.set_num_threads(1)
tok = RemiTokenizer()
rows = []
for p in sorted(Path(sys.argv[1]).rglob("*.mid")):
    ids = tok.encode(Score(str(p)), add_special=True)
    rows.append({"id": str(p), "tokens": ids})
pq.write_table(pa.Table.from_pylist(rows), sys.argv[2])
print(len(rows), "pieces")
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=Path("/tmp/partita-shard-bench"))
    ap.add_argument("--sizes", default="2000,20000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--peer-at", type=int, default=2000, help="run the one-process peer at this size only")
    args = ap.parse_args()
    env_py = [sys.executable]
    rows = []
    for count in [int(s) for s in args.sizes.split(",")]:
        t0 = time.perf_counter()
        folder = synth_folder(args.root, count)
        made = time.perf_counter() - t0
        out = args.root / f"shards-{count}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        run = measure([*env_py, "-m", "partita.cli", "data", "shard", str(folder), "-o", str(out), "--tokenizer",
                       "remi", "--shards", "16", "--workers", str(args.workers), "--quiet"])
        manifest = json.loads((out / "manifest.json").read_text())
        row = {"files": count, "generate_seconds": round(made, 1), "pieces": manifest["pieces"],
               "skipped": len(manifest["skipped"]), "tokens": manifest["tokens"], "seconds": round(run["seconds"], 1),
               "pieces_per_second": round(manifest["pieces"] / run["seconds"], 1), "peak_mb": round(run["peak_mb"]),
               "shard_mb": round(sum(p.stat().st_size for p in out.glob("*.parquet")) / 1e6, 1)}
        resumed = measure([*env_py, "-m", "partita.cli", "data", "shard", str(folder), "-o", str(out), "--tokenizer",
                           "remi", "--shards", "16", "--workers", str(args.workers), "--quiet"])
        row["rerun_seconds"] = round(resumed["seconds"], 1)
        if count == args.peer_at:
            subprocess.run(["rm", "-rf", str(out)], check=True)
            one = measure([*env_py, "-m", "partita.cli", "data", "shard", str(folder), "-o", str(out), "--tokenizer",
                           "remi", "--shards", "16", "--workers", "1", "--quiet"])
            row["one_worker_seconds"] = round(one["seconds"], 1)
            row["one_worker_peak_mb"] = round(one["peak_mb"])
            peer = measure([*env_py, "-c", PEER, str(folder), str(args.root / f"peer-{count}.parquet")])
            row["peer_seconds"] = round(peer["seconds"], 1)
            row["peer_peak_mb"] = round(peer["peak_mb"])
            row["speedup_vs_peer"] = round(peer["seconds"] / run["seconds"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"workers": args.workers, "cores": os.cpu_count(), "tokenizer": "remi", "shards": 16, "rows": rows}
    OUT.mkdir(exist_ok=True)
    (OUT / "shard.json").write_text(json.dumps(result, indent=1))
    lines = [f"`partita data shard` with {args.workers} workers on {os.cpu_count()} shared cores (nice 10), REMI, "
             "16 train shards; synthetic folder of corpus chorales transposed and tempo-scaled.", "",
             "| files | pieces | tokens | seconds | pieces/s | peak memory (MB, all processes) | shards (MB) "
             "| rerun (all shards kept), s | --workers 1, s | one-process peer, s (MB) | speed-up vs peer |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        peer = f"{r['peer_seconds']} ({r['peer_peak_mb']})" if "peer_seconds" in r else ""
        lines.append(f"| {r['files']:,} | {r['pieces']:,} | {r['tokens']:,} | {r['seconds']} | {r['pieces_per_second']} "
                     f"| {r['peak_mb']} | {r['shard_mb']} | {r['rerun_seconds']} | {r.get('one_worker_seconds', '')} "
                     f"| {peer} | {r.get('speedup_vs_peer', '')} |")
    lines += ["", f"Load average while it ran: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other sessions' work)."]
    (OUT / "shard.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
