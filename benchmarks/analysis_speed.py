"""Speed of `analyze` on 3-minute multi-track scores, against music21's own key analysis.

Takes the corpus pieces (cache) with at least 3 tracks that last at least 3 minutes, clips
each to its first 180 s, and times partita's full analysis (key, tempo, meter, chords,
muspy metrics) warm, next to the obvious baseline: music21's `analyze('key')` alone on the
same score. Writes benchmarks/results/analysis_speed.{json,md}.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks._util import timed
from partita import datasets
from partita.mir.analysis import analyze
from partita.score import to_music21

OUT = Path(__file__).parent / "results"


def three_minute_pieces(limit: int = 5):
    found = []
    for piece in datasets.load("classical"):
        score = piece.score()
        if sum(1 for t in score.tracks if len(t.notes)) < 3:
            continue
        sec = score.to("second")
        if sec.end() < 180:
            continue
        # clip at the tick where 180 s falls
        ratio = 180 / sec.end()
        clipped = score.clip(0, int(score.end() * ratio), clip_end=True)
        found.append((piece.id, clipped))
        if len(found) >= limit:
            break
    return found


def main() -> dict:
    pieces = three_minute_pieces()
    analyze(pieces[0][1])  # warm: imports, profile tables
    rows = []
    for pid, score in pieces:
        ours = timed(lambda s=score: analyze(s))
        m21 = to_music21(score)
        base = timed(lambda m=m21: m.analyze("key"), repeat=1)
        rows.append({"piece": pid, "notes": score.note_num(), "tracks": len(score.tracks),
                     "partita_analyze_s": round(ours, 3), "music21_key_only_s": round(base, 3),
                     "speedup": round(base / ours, 1)})
    OUT.mkdir(exist_ok=True)
    (OUT / "analysis_speed.json").write_text(json.dumps(rows, indent=1))
    lines = ["| piece (first 180 s) | notes | tracks | partita analyze (s) | music21 key only (s) | ratio |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['piece']} | {r['notes']} | {r['tracks']} | {r['partita_analyze_s']} | "
              f"{r['music21_key_only_s']} | {r['speedup']}x |" for r in rows]
    (OUT / "analysis_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return {"rows": rows}


if __name__ == "__main__":
    main()
