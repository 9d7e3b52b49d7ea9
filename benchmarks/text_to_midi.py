"""Text to MIDI on 50 hand-written held-out prompts, measured with the MIR metrics against
what each prompt states (written by hand in benchmarks/data/prompts.jsonl, not by the parser).

Figures (share of prompts that state the attribute): correct key (CK, mode included),
tempo bin (TB), meter, instrument F1, exact bar count; plus seconds per generation.
Published figures on MidiCaps (not the same prompts): Text2midi CK 33.6%, TB 39.7%;
MuseCoco CK 13.7%, TB 21.7%. Writes benchmarks/results/text_to_midi.{json,md}.

``--model checkpoints/figaro`` lets the FIGARO model write the melody and harmony parts
(results in ``text_to_midi_figaro.*``). ``--musicality`` adds pitch-class entropy, grooving
similarity and chord progression irregularity of the generated pieces next to held-out
corpus pieces of the same style (folk tunes for dance and folk prompts, chorales and
classical pieces for the rest), and the speed of one 16-bar candidate and of best-of-4.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


FOLK = {"jig", "slip jig", "reel", "hornpipe", "polka", "strathspey", "folk", "celtic", "irish", "march", "waltz",
        "dance", "fiddle tune"}


def musical_measures(score) -> dict:  # noqa: ANN001
    from partita.mir import metrics
    from partita.mir.chords import chords_per_bar

    return {"pce": metrics.pitch_class_entropy(score), "gs": metrics.grooving_similarity(score),
            "cpi": metrics.chord_progression_irregularity(chords_per_bar(score))}


def corpus_reference(n: int = 60, seed: int = 0) -> dict:
    """Mean musical measures of held-out corpus pieces: folk tunes, and chorales + classical."""
    from partita import datasets

    rng = np.random.default_rng(seed)
    out = {}
    for group, names in (("folk", ("abc_tunes",)), ("classical", ("chorales", "classical"))):
        pool = datasets.load_built("test", names)
        vals = []
        for i in rng.permutation(len(pool))[:n]:
            try:
                vals.append(musical_measures(pool[i].score()))
            except Exception:  # noqa: BLE001 - an unreadable piece is skipped
                continue
        out[group] = {k: float(np.mean([v[k] for v in vals])) for k in ("pce", "gs", "cpi")} | {"pieces": len(vals)}
    return out


def speed(model: str | None) -> dict:
    from partita.compose.text_to_midi import generate

    prompt = "a folk song in G major for violin and piano, 16 bars"
    out = {}
    for candidates in (1, 4):
        times = []
        for seed in range(3):
            t = time.perf_counter()
            generate(prompt, seed=seed, candidates=candidates, model=model)
            times.append(time.perf_counter() - t)
        out[f"seconds_16_bars_best_of_{candidates}"] = round(statistics.median(times), 2)
    return out


def main(argv: list[str] | None = None) -> dict:
    from partita.compose.text_to_midi import generate
    from partita.mir import metrics
    from partita.mir.analysis import analyze

    ap = argparse.ArgumentParser()
    ap.add_argument("candidates", nargs="?", type=int, default=4)
    ap.add_argument("--model", help="a FIGARO checkpoint: the model writes melody and harmony; 'auto': the "
                    "CLI's default writers (results in text_to_midi_default.*)")
    ap.add_argument("--musicality", action="store_true")
    ap.add_argument("--limit", type=int, help="only the first N prompts")
    args = ap.parse_args(argv)
    candidates = args.candidates
    name = "text_to_midi_default" if args.model == "auto" else "text_to_midi_figaro" if args.model else "text_to_midi"
    rows = []
    for line in (HERE / "data" / "prompts.jsonl").read_text().splitlines()[: args.limit]:
        want = json.loads(line)
        t = time.perf_counter()
        gen = generate(want["prompt"], seed=0, candidates=candidates, model=args.model)
        took = time.perf_counter() - t
        a = analyze(gen.score, chords=False, objective_metrics=False)
        row = {"prompt": want["prompt"], "seconds": round(took, 3)}
        if args.musicality:
            row["style_group"] = "folk" if FOLK & set(gen.attributes.style) else "classical"
            row.update(musical_measures(gen.score))
            row["writers"] = sorted(set((gen.writers or {}).values()))
        if "key" in want:
            tonic, mode = want["key"]
            if mode in ("major", "minor"):
                row["ck"] = a.key is not None and metrics.key_match((tonic, mode), a.key)
            else:  # modal keys: the notes must use the mode's scale on its tonic (signature + final)
                ks = gen.score.key_signatures[0]
                from partita.compose.arrange import key_signature

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
    result = {"prompts": len(rows), "candidates": candidates, "model": args.model, "summary": summary, "rows": rows}
    who = ("the CLI's default writers: the ABC tune model for the corpus's tune styles, four voices for "
           "chorales, the FIGARO model otherwise; the arranger the rest; reranked by fidelity, then musicality"
           if args.model == "auto" else
           f"the FIGARO model {args.model} writes melody and harmony, the arranger the rest" if args.model
           else "every part from the rule-based arranger")
    md = [f"{len(rows)} hand-written prompts, best of {candidates} candidates, seed 0 ({who}).", "",
          "| metric | partita | prompts stating it | Text2midi (MidiCaps) | MuseCoco (MidiCaps) |", "|---|---|---|---|---|"]
    names = {"ck": ("correct key (CK)", "33.6%", "13.7%"), "tb": ("tempo bin (TB)", "39.7%", "21.7%"),
             "meter": ("meter", "-", "-"), "instrument_f1": ("instrument F1", "-", "-"), "bars": ("exact bars", "-", "-")}
    for k, (label, t2m, mc) in names.items():
        v, n = summary[k]
        md.append(f"| {label} | {v:.3f} | {n} | {t2m} | {mc} |")
    md.append(f"\nMedian seconds per prompt (16-32 bars, {candidates} candidates): {summary['seconds_median']}")
    if args.musicality:
        ref = corpus_reference()
        result["corpus_reference"] = ref
        result["speed"] = speed(args.model)
        md += ["", "Musicality (means; PCE: pitch-class entropy per bar, bits; GS: grooving similarity; "
               "CPI: share of distinct chord trigrams), generated against held-out corpus pieces of the style:", "",
               "| style group | pieces | PCE | GS | CPI |", "|---|---|---|---|---|"]
        for group in ("folk", "classical"):
            mine = [r for r in rows if r.get("style_group") == group]
            if mine:
                md.append(f"| {group}, generated | {len(mine)} | " + " | ".join(
                    f"{np.mean([r[k] for r in mine]):.3f}" for k in ("pce", "gs", "cpi")) + " |")
            md.append(f"| {group}, corpus (test split) | {ref[group]['pieces']} | " + " | ".join(
                f"{ref[group][k]:.3f}" for k in ("pce", "gs", "cpi")) + " |")
        md += ["", "Speed on this machine (median of 3, one process): " + ", ".join(
            f"{k.replace('_', ' ')} {v} s" for k, v in result["speed"].items())]
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=1))
    (out / f"{name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
