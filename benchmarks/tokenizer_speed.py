"""Tokenizers over the corpus, in one run: tokens per second, tokens per bar and per second
of music, and round-trip note accuracy after each tokenizer's stated normalisation.

Writes benchmarks/results/tokenizers.{json,md}. Reads the corpus cache.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

from partita import datasets
from partita.score import bar_count, duration_seconds

OUT = Path(__file__).parent / "results"


def sample(n_tunes: int = 200, n_chorales: int = 40, n_classical: int = 20, seed: int = 0):
    rng = random.Random(seed)
    out = []
    for name, n in (("abc_tunes", n_tunes), ("chorales", n_chorales), ("classical", n_classical)):
        pieces = list(datasets.load(name, split="test")) or list(datasets.load(name))
        rng.shuffle(pieces)
        out += [(name, p) for p in pieces[:n]]
    return out


def note_set(score, tpq_out: int = 480):
    tpq = score.ticks_per_quarter
    return sorted((n.time * tpq_out // tpq, n.pitch) for t in score.tracks for n in t.notes)


def main() -> dict:
    from partita.tokenizers import anticipation as A
    from partita.tokenizers.abc import AbcTokenizer, normalize_abc, to_score
    from partita.tokenizers.remi import RemiTokenizer

    pieces = sample()
    scores = [(name, p, p.score()) for name, p in pieces]
    bars = sum(bar_count(s) for _, _, s in scores)
    seconds = sum(duration_seconds(s) for _, _, s in scores)
    result: dict = {"pieces": len(scores), "bars": bars, "seconds_of_music": round(seconds, 1), "tokenizers": {}}

    remi = RemiTokenizer()
    t = time.perf_counter()
    encoded = [remi.encode(s) for _, _, s in scores]
    took = time.perf_counter() - t
    n = sum(map(len, encoded))
    exact = [note_set(remi.decode(ids)) == note_set(remi.normalize(s)) for ids, (_, _, s) in zip(encoded, scores, strict=True)]
    kept = [len(set(note_set(remi.decode(ids))) & set(note_set(s))) / max(1, len(note_set(s)))
            for ids, (_, _, s) in zip(encoded, scores, strict=True)]
    result["tokenizers"]["remi"] = {"tokens": n, "tokens_per_s": round(n / took), "tokens_per_bar": round(n / bars, 1),
                                    "tokens_per_second_of_music": round(n / seconds, 1),
                                    "round_trip_exact_after_normalisation": round(sum(exact) / len(exact), 4),
                                    "original_notes_kept_exactly": round(statistics.mean(kept), 4)}

    t = time.perf_counter()
    events = [A.midi_to_events(s) for _, _, s in scores]
    took = time.perf_counter() - t
    n = sum(map(len, events))
    kept = []
    for ev, (_, _, s) in zip(events, scores, strict=True):
        sec = s.to("second")
        ref = {(round(100 * x.time), x.pitch) for tr in sec.tracks for x in tr.notes}
        back = {(x.time, x.pitch) for tr in A.events_to_score(ev).tracks for x in tr.notes}
        kept.append(len(ref & back) / max(1, len(ref)))
    result["tokenizers"]["anticipation"] = {"tokens": n, "tokens_per_s": round(n / took),
                                            "tokens_per_bar": round(n / bars, 1),
                                            "tokens_per_second_of_music": round(n / seconds, 1),
                                            "notes_kept_at_10ms": round(statistics.mean(kept), 4)}

    abc = AbcTokenizer()
    tunes = [p for name, p in pieces if name == "abc_tunes"]
    texts = [next(x for x in datasets.abc_tunes({p.collection}) if x.id == p.id).text for p in tunes[:60]]
    t = time.perf_counter()
    patches = [abc.encode(x) for x in texts]
    took = time.perf_counter() - t
    chars = sum(len(q) for pp in patches for q in pp)
    same = 0
    for text in texts[:40]:
        a, b = to_score(normalize_abc(text)), to_score(text)
        same += note_set(a) == note_set(b)
    tune_bars = sum(bar_count(to_score(x)) for x in texts)
    result["tokenizers"]["abc"] = {"tunes": len(texts), "tokens": chars, "tokens_per_s": round(chars / took),
                                   "patches_per_tune": round(sum(map(len, patches)) / len(patches), 1),
                                   "tokens_per_bar": round(chars / tune_bars, 1),
                                   "normalised_tunes_with_identical_notes": round(same / 40, 4)}
    OUT.mkdir(exist_ok=True)
    (OUT / "tokenizers.json").write_text(json.dumps(result, indent=1))
    lines = [f"{result['pieces']} corpus test-split pieces ({bars} bars, {seconds:.0f} s of music); ABC over "
             f"{len(texts)} tunes.", "", "| tokenizer | tokens/s | tokens/bar | tokens/s of music | round trip |",
             "|---|---|---|---|---|"]
    r = result["tokenizers"]
    lines.append(f"| REMI | {r['remi']['tokens_per_s']:,} | {r['remi']['tokens_per_bar']} | "
                 f"{r['remi']['tokens_per_second_of_music']} | exact after normalisation "
                 f"{r['remi']['round_trip_exact_after_normalisation']:.3f}; original notes kept {r['remi']['original_notes_kept_exactly']:.3f} |")
    lines.append(f"| anticipation | {r['anticipation']['tokens_per_s']:,} | {r['anticipation']['tokens_per_bar']} | "
                 f"{r['anticipation']['tokens_per_second_of_music']} | notes kept at 10 ms {r['anticipation']['notes_kept_at_10ms']:.3f} |")
    lines.append(f"| ABC (characters) | {r['abc']['tokens_per_s']:,} | {r['abc']['tokens_per_bar']} | n/a | "
                 f"normalised tunes with identical notes {r['abc']['normalised_tunes_with_identical_notes']:.3f}; "
                 f"{r['abc']['patches_per_tune']} patches/tune |")
    (OUT / "tokenizers.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main()
