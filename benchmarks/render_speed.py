"""Real-time factor of the audio renderers, side by side on the same corpus scores.

For each score (from the music21 corpus, converted with ``partita.score.from_music21``)
and each engine, times the full public call ``partita.audio_render.render`` (humanizer,
synthesis, tail trimming, normalisation) at 44.1 kHz: one warm-up call, then the median of
``REPEAT`` calls. Real-time factor = seconds of audio produced / wall-clock seconds.

Engines:
- ``soundfont`` (embedded TinySoundFont) with its default TimGM6mb.sf2, and with
  FluidR3_GM.sf2 (the synth is cached across calls, so its ~1 s load is not counted);
- ``fluidsynth`` (Debian's command, FluidR3_GM.sf2): a new process per call, so its
  soundfont load and MIDI file round trip are counted, as a user pays them.

Writes benchmarks/results/render_speed.{json,md}. Run: ``python benchmarks/render_speed.py``.
"""

from __future__ import annotations

import json
import platform
import shutil
import statistics
import time
from pathlib import Path

OUT = Path(__file__).parent / "results"
PIECES = ["bach/bwv66.6", "mozart/k80/movement1", "haydn/opus74no1/movement3"]
REPEAT = 3
SAMPLE_RATE = 44100


def configurations() -> list[tuple[str, str, str | None]]:
    """(label, engine, soundfont) of every configuration installed here."""
    from partita.audio_render.soundfont import FLUIDR3_PATHS

    fluidr3 = next((p for p in FLUIDR3_PATHS if Path(p).is_file()), None)
    found = [("soundfont (TimGM6mb)", "soundfont", None)]
    if fluidr3:
        found.append(("soundfont (FluidR3)", "soundfont", fluidr3))
        if shutil.which("fluidsynth"):
            found.append(("fluidsynth (FluidR3)", "fluidsynth", None))
    from partita.audio_render.ddsp.perform import available

    if available():
        # DDSP plays the lines it has models for (violin, flute, cello); the soundfont the rest
        found.append(("ddsp (+TimGM6mb)", "ddsp", None))
    return found


def main() -> dict:
    from music21 import corpus

    from partita.audio_render import render
    from partita.score import from_music21

    scores = [(name, from_music21(corpus.parse(name))) for name in PIECES]
    configs = configurations()
    rows = []
    for name, score in scores:
        for label, engine, soundfont in configs:
            audio, sr = render(score, engine=engine, soundfont=soundfont, sample_rate=SAMPLE_RATE)
            times = []
            for _ in range(REPEAT):
                start = time.perf_counter()
                render(score, engine=engine, soundfont=soundfont, sample_rate=SAMPLE_RATE)
                times.append(time.perf_counter() - start)
            wall = statistics.median(times)
            seconds = len(audio) / sr
            rows.append({"piece": name, "notes": int(score.note_num()), "tracks": len(score.tracks),
                         "engine": label, "audio_s": round(seconds, 2), "wall_s": round(wall, 3),
                         "realtime_factor": round(seconds / wall, 1)})
            print(rows[-1], flush=True)
    result = {"sample_rate": SAMPLE_RATE, "repeat": REPEAT, "machine": platform.machine(),
              "python": platform.python_version(), "rows": rows}
    OUT.mkdir(exist_ok=True)
    (OUT / "render_speed.json").write_text(json.dumps(result, indent=1) + "\n")
    labels = [c[0] for c in configs]
    lines = ["Real-time factor (audio seconds per wall-clock second) of `render()` at 44.1 kHz, "
             f"median of {REPEAT} warm calls, humanizer on.", "",
             "| piece | notes | audio (s) | " + " | ".join(labels) + " |",
             "|---|---|---|" + "---|" * len(labels)]
    for name, score in scores:
        mine = {r["engine"]: r for r in rows if r["piece"] == name}
        cells = [f"{mine[lb]['realtime_factor']}x ({mine[lb]['wall_s']} s)" for lb in labels]
        lines.append(f"| {name} | {score.note_num()} | {mine[labels[0]]['audio_s']} | " + " | ".join(cells) + " |")
    (OUT / "render_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main()
