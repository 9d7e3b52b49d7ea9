"""`make demo`: the best pipeline partita has today, end to end, files under out/.

Today (foundation): parse the offline corpus into the cache (first run only), print its
statistics, pick a reel from O'Neill's and a Bach chorale and write each as MIDI, MusicXML
and ABC, and show what `partita info` reads back from the files written.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from partita import datasets
from partita.cli import main as partita

OUT = Path("out")


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run() -> int:
    OUT.mkdir(exist_ok=True)
    step("corpus cache")
    # the demo needs the tunes and the chorales (about 4 minutes on 2 cores, once);
    # `partita data build` adds the classical pieces (about 15 minutes more)
    missing = [d for d in ("abc_tunes", "chorales") if not datasets.cache_file(d).exists()]
    if missing:
        print(f"building {', '.join(missing)} into {datasets.default_cache_dir()} (first run only)")
        t = time.perf_counter()
        if partita(["data", "build", "--datasets", ",".join(missing)]) != 0:
            return 1
        print(f"corpus build took {time.perf_counter() - t:.0f} s")
    else:
        print(f"cache present in {datasets.default_cache_dir()}")
    step("corpus statistics")
    if partita(["data", "stats"]) != 0:
        return 1

    step("a reel from O'Neill's and a chorale, written as MIDI, MusicXML and ABC")
    reel = next(p for p in datasets.abc_tunes({"oneills1850"}) if p.meta.get("rhythm", "").lower() == "reel")
    chorale = next(p for p in datasets.load("chorales") if p.id == "chorales:bach/bwv269")
    from partita.score import write

    for stem, score, label in (("reel", reel.load(), f"{reel.title} ({reel.id})"),
                               ("chorale", chorale.score(), chorale.title)):
        print(f"{stem}: {label}")
        for suffix in (".mid", ".musicxml", ".abc"):
            write(score, OUT / f"{stem}{suffix}")
        print(f"  wrote {', '.join(str(OUT / (stem + s)) for s in ('.mid', '.musicxml', '.abc'))}")
    step("partita info out/chorale.mid")
    partita(["info", str(OUT / "chorale.mid")])
    step("partita info out/reel.abc")
    partita(["info", str(OUT / "reel.abc")])
    print("\ndone: files in out/")
    return 0


if __name__ == "__main__":
    sys.exit(run())
