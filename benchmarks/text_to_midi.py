"""Text to MIDI on 50 hand-written held-out prompts, measured with the MIR metrics against
what each prompt states (written by hand in benchmarks/data/prompts.jsonl, not by the parser).

Figures (share of prompts that state the attribute): correct key (CK, mode included),
tempo bin (TB), meter, instrument F1, exact bar count; plus seconds per generation.
Published figures on MidiCaps (not the same prompts): Text2midi CK 33.6%, TB 39.7%;
MuseCoco CK 13.7%, TB 21.7%. Writes benchmarks/results/text_to_midi.{json,md}.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(candidates: int = 4) -> dict:
    from partita.mir import metrics
    from partita.mir.analysis import analyze
    from partita.symbolic.generate import generate

    rows = []
    for line in (HERE / "data" / "prompts.jsonl").read_text().splitlines():
        want = json.loads(line)
        t = time.perf_counter()
        gen = generate(want["prompt"], seed=0, candidates=candidates)
        took = time.perf_counter() - t
        a = analyze(gen.score, chords=False, objective_metrics=False)
        row = {"prompt": want["prompt"], "seconds": round(took, 3)}
        if "key" in want:
            tonic, mode = want["key"]
            if mode in ("major", "minor"):
                row["ck"] = a.key is not None and metrics.key_match((tonic, mode), a.key)
            else:  # modal keys: the notes must use the mode's scale on its tonic (signature + final)
                ks = gen.score.key_signatures[0]
                from partita.symbolic.arranger import key_signature

                row["ck"] = (ks.key, ks.tonality) == (key_signature((tonic, mode)).key, key_signature((tonic, mode)).tonality) \
                    and max((n.time + n.duration, -n.pitch, n.pitch) for tr in gen.score.tracks if not tr.is_drum
                             for n in tr.notes)[2] % 12 == tonic
        if "mode" in want:
            row["mode_ok"] = a.key is not None and a.key[1] == want["mode"]
        if "tempo" in want:
            row["tb"] = metrics.tempo_bin_match(want["tempo"], a.tempo)
        if "meter" in want:
            row["meter"] = a.meter == tuple(want["meter"])
        if "instruments" in want:
            row["instrument_f1"] = metrics.f1(set(want["instruments"]), set(a.instruments))
        if "bars" in want:
            row["bars"] = a.bars == want["bars"]
        if "seconds" in want:
            row["length_s_within_10pct"] = abs(a.seconds - want["seconds"]) <= 0.1 * want["seconds"]
        row["fidelity"] = gen.report.score
        rows.append(row)

    def share(key: str) -> tuple[float, int]:
        vals = [r[key] for r in rows if key in r]
        return (round(sum(vals) / len(vals), 4) if vals else float("nan"), len(vals))

    summary = {k: share(k) for k in ("ck", "tb", "meter", "instrument_f1", "bars", "mode_ok", "length_s_within_10pct")}
    summary["seconds_median"] = round(statistics.median(r["seconds"] for r in rows), 3)
    result = {"prompts": len(rows), "candidates": candidates, "summary": summary, "rows": rows}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "text_to_midi.json").write_text(json.dumps(result, indent=1))
    md = [f"{len(rows)} hand-written prompts, best of {candidates} candidates, seed 0 (rule-based arranger; "
          "the FIGARO model is not shipped yet).", "",
          "| metric | partita | prompts stating it | Text2midi (MidiCaps) | MuseCoco (MidiCaps) |", "|---|---|---|---|---|"]
    names = {"ck": ("correct key (CK)", "33.6%", "13.7%"), "tb": ("tempo bin (TB)", "39.7%", "21.7%"),
             "meter": ("meter", "-", "-"), "instrument_f1": ("instrument F1", "-", "-"), "bars": ("exact bars", "-", "-")}
    for k, (label, t2m, mc) in names.items():
        v, n = summary[k]
        md.append(f"| {label} | {v:.3f} | {n} | {t2m} | {mc} |")
    md.append(f"\nMedian seconds per prompt (16-32 bars, {candidates} candidates): {summary['seconds_median']}")
    (out / "text_to_midi.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
