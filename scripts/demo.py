"""`make demo`: the main job, end to end, files under out/.

A text prompt becomes attributes, the attributes a score: the writer for the style asked
(the ABC tune model for jigs, reels, waltzes and the other tune styles of the corpus, four
voices for a chorale, the FIGARO model otherwise) writes the melody, the arranger the rest,
best of four candidates by fidelity, then musicality; the score is written as MIDI and MusicXML, rendered to audio with
the embedded soundfont renderer, the audio is transcribed back to notes with Basic Pitch,
and the report shows what was asked against what was measured, in the score and in the
audio.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

OUT = Path("out")
PROMPTS = (
    "A lively jig in D major for fiddle and tin whistle, 16 bars",
    "A slow waltz in E-flat major for piano and cello, 16 bars",
)


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run() -> int:
    from partita.audio_render import render_to_file
    from partita.compose.text_to_midi import generate, slug, write_generation
    from partita.errors import PartitaError
    from partita.mir.metrics import note_scores
    from partita.mir.transcribe import transcribe

    OUT.mkdir(exist_ok=True)
    for prompt in PROMPTS:
        step(f"prompt: {prompt}")
        t = time.perf_counter()
        gen = generate(prompt, seed=0)   # the CLI's defaults: best of 4, the writer for the style
        paths = write_generation(gen, OUT)
        print("\n".join(gen.summary_lines()))
        print(f"best of {len(gen.candidate_scores)} candidates {gen.candidate_scores}, {time.perf_counter() - t:.1f} s")
        wav = OUT / f"{slug(prompt)}.wav"
        t = time.perf_counter()
        try:
            render_to_file(gen.score, wav, engine="soundfont", seed=0)
        except PartitaError as exc:
            print(f"rendering failed: {exc}")
            return 1
        print(f"rendered {wav} in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        heard = transcribe(wav)
        scores = note_scores(gen.score, heard)
        print(f"transcribed the audio back to {heard.note_num()} notes in {time.perf_counter() - t:.1f} s: "
              f"onset F1 {scores['onset_f1']:.2f}, onset+offset F1 {scores['offset_f1']:.2f} against the score")
        for p in (*paths.values(), wav):
            print(f"  wrote {p}")
    print("\ndone: files in out/")
    return 0


if __name__ == "__main__":
    sys.exit(run())
