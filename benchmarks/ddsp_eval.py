"""DDSP performers on corpus melodies: f0 accuracy of the rendered audio (torchcrepe, 50 cents)
and real-time factor; then the model card of each checkpoint is written from its training log.

    python -m benchmarks.ddsp_eval [N]     # N held-out corpus melodies per instrument (default 12)

Writes benchmarks/results/ddsp_eval.{json,md} and checkpoints/ddsp-*/README.md.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def melodies(n: int, seconds: float = 12.0):
    from partita import datasets
    from partita.audio_render.ddsp.controls import NoteEvent

    out = []
    for piece in datasets.load("abc_tunes", split="test"):
        sec = piece.score().to("second")
        notes = [NoteEvent(float(x.time), float(x.duration), int(x.pitch), int(x.velocity))
                 for t in sec.tracks for x in t.notes if x.time < seconds]
        if len(notes) >= 12:
            out.append((piece.id, notes))
        if len(out) >= n:
            break
    return out


def evaluate_checkpoint(folder: Path, mels) -> dict:
    from partita.audio_render.ddsp.controls import control_curves
    from partita.audio_render.ddsp.data import INSTRUMENTS
    from partita.audio_render.ddsp.perform import perform_line
    from partita.mir.audio import f0_curve, raw_pitch_accuracy

    config = json.loads((folder / "config.json").read_text())
    _, lo, hi = INSTRUMENTS[config["instrument"]]
    from partita.audio_render.ddsp.data import Phrase
    from partita.audio_render.ddsp.train import render_phrases

    accs, rtfs, ref_accs = [], [], []
    for _, notes in mels:
        pitches = [n.pitch for n in notes]
        shift = (lo + hi) // 2 - (min(pitches) + max(pitches)) // 2
        line = [type(n)(n.start, n.duration, n.pitch + shift, n.velocity) for n in notes]
        t = time.perf_counter()
        audio, sr = perform_line(line, folder, vibrato_cents=20.0)
        rtfs.append(len(audio) / sr / (time.perf_counter() - t))
        times, f0, _ = f0_curve(audio, sr, model="full" if "--full" in sys.argv else "tiny")
        ref = control_curves(line, 100.0, len(f0), vibrato_cents=0.0)
        # score only frames inside notes, 60 ms after each onset (pitch trackers miss note starts)
        voiced = ref["voiced"].astype(bool) & (ref["since_onset_s"] >= 0.06)
        accs.append(raw_pitch_accuracy(ref["f0_hz"], f0, voiced))
        # the same notes played by the soundfont's own instrument, measured the same way
        phrase = Phrase(line)
        render_phrases([phrase], config["program"], sr)
        _, f0_sf, _ = f0_curve(phrase.audio, sr, model="full" if "--full" in sys.argv else "tiny")
        n = min(len(f0_sf), len(f0))
        ref_accs.append(raw_pitch_accuracy(ref["f0_hz"][:n], f0_sf[:n], voiced[:n]))
    return {"instrument": config["instrument"], "f0_rpa_50c": round(statistics.mean(accs), 4),
            "f0_rpa_min": round(min(accs), 4), "f0_rpa_soundfont_same_notes": round(statistics.mean(ref_accs), 4),
            "realtime_factor": round(statistics.median(rtfs), 1),
            "melodies": len(mels)}


def model_card(folder: Path, result: dict) -> str:
    from partita.audio_render.ddsp.train import NEIGHBOUR

    train = json.loads((folder / "training.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    h = train["heldout"]
    size = (folder / "model.safetensors").stat().st_size
    curve = [x for x in train["log"] if "msd_model" in x]
    rows = "\n".join(f"| {x['step']} | {x['msd_model']} |" for x in curve)
    return f"""# DDSP performer: {config['instrument']}

A harmonic-plus-filtered-noise synthesizer with a learned reverb, driven by a small GRU
decoder from MIDI control curves (f0 with vibrato and portamento, a loudness envelope from
velocity, time since onset, voiced flag). Code: `partita/audio_render/ddsp/`.
Reproduce: `partita train ddsp --instrument {config['instrument']} --steps {train['steps']}`.

- Training data: {train['phrases_train']} phrases (scales, arpeggios, long tones, corpus ABC
  melodies transposed into range) rendered dry at 16 kHz from the `{train['soundfont']}`
  soundfont, General MIDI program {config['program']}; {train['phrases_heldout']} phrases held out.
- Steps: {train['steps']} (batch {train['batch_size']} x {train['crop_seconds']} s), Adam lr {train['lr']} with cosine decay,
  seed {train['seed']}; wall time {train['wall_seconds'] / 60:.1f} min on a busy 2-core CPU (1 thread).
- Weights: {size / 1e6:.2f} MB (safetensors, fp32).

## Held-out multi-scale spectral distance (FFT 2048...64, linear + log L1; lower is better)

| this model | plain sine at f0 with the loudness envelope | soundfont's {NEIGHBOUR[config['instrument']]} playing the same notes |
|---|---|---|
| {h['msd_model']} | {h['msd_sine']} | {h.get('msd_soundfont_neighbour', 'n/a')} |

The neighbour column is how far another sampled instrument of the same soundfont is from the
target: a model near it sounds like "an instrument of that family".

| step | held-out distance |
|---|---|
{rows}

## Rendered audio, measured (benchmarks/ddsp_eval.py)

- f0 raw pitch accuracy (50 cents, torchcrepe tiny, frames from 60 ms after each onset) on
  {result['melodies']} held-out corpus melodies with 20-cent vibrato: **{result['f0_rpa_50c']:.3f}**
  (worst melody {result['f0_rpa_min']:.3f}); the soundfont's own {config['instrument']} playing the same
  notes, measured the same way: {result['f0_rpa_soundfont_same_notes']:.3f}.
- Speed: {result['realtime_factor']:g}x real time (one line, 1 CPU thread, 16 kHz).

Limits: trained on a soundfont, not on recordings; monophonic lines only (chords are cut to
their top note); no bowing/breath noises beyond what the samples hold.
"""


def main(n: int = 12) -> dict:
    mels = melodies(n)
    results = []
    for folder in sorted((ROOT / "checkpoints").glob("ddsp-*")):
        if not (folder / "training.json").exists():
            continue
        r = evaluate_checkpoint(folder, mels)
        train = json.loads((folder / "training.json").read_text())
        r.update({f"heldout_{k}": v for k, v in train["heldout"].items()})
        results.append(r)
        (folder / "README.md").write_text(model_card(folder, r))
    OUT.mkdir(exist_ok=True)
    (OUT / "ddsp_eval.json").write_text(json.dumps(results, indent=1))
    lines = ["| instrument | f0 RPA (50c) | soundfont's RPA, same notes | real time x | held-out MSD | sine MSD | neighbour MSD |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['instrument']} | {r['f0_rpa_50c']:.3f} | {r['f0_rpa_soundfont_same_notes']:.3f} | {r['realtime_factor']:g} | {r['heldout_msd_model']} | "
              f"{r['heldout_msd_sine']} | {r.get('heldout_msd_soundfont_neighbour', 'n/a')} |" for r in results]
    (OUT / "ddsp_eval.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return {"results": results}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 12)
