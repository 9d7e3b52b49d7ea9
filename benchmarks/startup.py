"""Start-up of the ``partita`` command, each run beside its peer ``python -c "import partita"``.

Times whole processes (as a user waits for them): ``partita --help``, ``partita info`` on a
small MIDI file, and the peer, in turn (peer, help, info, peer, help, info...), so that a
machine whose speed drifts slows all three alike. Prints medians, min-max and the median
of the per-round ratios to the peer; ``--json FILE`` also writes them.

Run: ``python benchmarks/startup.py [--runs 7] [--before DIR]``; ``--before`` also times the
same commands against the ``partita`` package of another source tree (e.g. ``git archive HEAD
partita | tar -x -C DIR``), in the same rounds. Which heavy modules a command imports is
checked by tests/test_cli_imports.py (a behaviour test, not a timing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIDI = Path(__file__).parents[1] / "tests" / "data" / "amt" / "twinkle.mid"


def from_tree(tree: Path, argv: list[str]) -> list[str]:
    """``python -m partita.cli ARGV`` with the package taken from ``tree``, not the installed one
    (an editable install's finder would win over PYTHONPATH, so it is dropped first)."""
    code = ("import sys, runpy; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
            f"sys.path.insert(0, {str(tree)!r}); sys.argv = ['partita', *{argv!r}]; "
            "runpy.run_module('partita.cli', run_name='__main__')")
    return [sys.executable, "-c", code]


def commands(midi: Path, before: Path | None = None) -> dict[str, list[str]]:
    py = sys.executable
    cmds = {'python -c "import partita"': [py, "-c", "import partita"]}
    for name, argv in (("partita --help", ["--help"]), ("partita info x.mid", ["info", str(midi)])):
        if before is not None:
            cmds[f"{name} (before)"] = from_tree(before, argv)
        cmds[name] = [py, "-m", "partita.cli", *argv]
    return cmds


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return time.perf_counter() - t


def measure(runs: int, midi: Path, before: Path | None = None) -> dict[str, dict[str, float]]:
    cmds = commands(midi, before)
    peer = next(iter(cmds))
    for cmd in cmds.values():  # warm the file cache
        wall(cmd)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            times[name].append(wall(cmd))
    result = {}
    for name, ts in times.items():
        ratios = [t / p for t, p in zip(ts, times[peer], strict=True)]
        result[name] = {"median_s": round(statistics.median(ts), 3), "min_s": round(min(ts), 3),
                        "max_s": round(max(ts), 3), "ratio_to_peer": round(statistics.median(ratios), 2)}
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--before", type=Path, help="a source tree holding an older partita/ to time as well")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "x.mid"
        midi.write_bytes(MIDI.read_bytes())
        result = measure(args.runs, midi, args.before)
    load = os.getloadavg()
    print(f"{args.runs} rounds, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} cores")
    print("| command | median s | min-max s | ratio to peer (median) |")
    print("|---|---|---|---|")
    for name, r in result.items():
        print(f"| `{name}` | {r['median_s']:.3f} | {r['min_s']:.3f}-{r['max_s']:.3f} | {r['ratio_to_peer']:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": args.runs, "load": load, "result": result}, indent=1))


if __name__ == "__main__":
    main()
