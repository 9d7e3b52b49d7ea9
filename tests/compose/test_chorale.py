"""The chorale writer: a tune made a chorale soprano, in four voices led by the rules of the style."""

from __future__ import annotations

import itertools

from partita.compose.chorale import RANGES, chorale_score, chorale_soprano, interval_costs, write_chorale
from partita.mir.musicality import parallel_perfect_rate
from partita.score import TPQ
from partita.theory import key_pitch_classes

# a G-major folk tune in eighths and quarters (two bars a phrase), 4 bars of 4/4
TUNE = [(i * TPQ // 2, TPQ // 2, p) for i, p in enumerate(
    [67, 69, 71, 72, 74, 72, 71, 69, 67, 71, 74, 71, 69, 67, 66, 69,
     71, 72, 74, 76, 74, 72, 71, 69, 67, 66, 64, 66, 67, 67, 67, 67])]


def test_the_soprano_moves_by_step_like_bachs_and_keeps_the_tunes_contour():
    costs = interval_costs()
    assert costs[1] < costs[0] and costs[2] < costs[4] < costs[7]     # steps commonest, leaps rarest
    # an arpeggiated folk tune (thirds and a sixth) in G major, one note a beat
    arpeggio = [(i * TPQ, TPQ, p) for i, p in enumerate([67, 71, 74, 79, 74, 71, 67, 62, 67, 71, 74, 67])]
    line = chorale_soprano(arpeggio, 12, TPQ, (7, "major"))
    steps = [abs(b - a) for a, b in zip(line, line[1:], strict=False)]
    lo, hi = RANGES["soprano"]
    assert all(lo <= p <= hi and p % 12 in key_pitch_classes((7, "major")) for p in line)  # diatonic, in range
    assert sum(1 <= s <= 2 for s in steps) / len(steps) >= 0.5       # the tune has no step; the line half
    assert max(steps) < 7                                                            # no leap of a fifth
    assert line[-1] % 12 == 7                                                        # ends on the tonic
    assert line.index(max(line)) in range(2, 6)          # the tune's peak (beats 3-4) stays the line's peak
    assert chorale_soprano([], 4, TPQ, (7, "major"))[-1] % 12 == 7                   # no tune: still a line


def test_four_voices_in_range_in_order_without_parallels():
    chorale = write_chorale(TUNE, (7, "major"), (4, 4), 4)
    assert len(chorale.chords) == 16 and chorale.chords[0] == chorale.chords[-1] == "G:maj"
    beats = {}
    for name, notes in chorale.voices.items():
        lo, hi = RANGES[name]
        assert all(lo <= p <= hi for _, _, p in notes), name
        for t, d, p in notes:
            for k in range(t // TPQ, (t + d) // TPQ):
                beats.setdefault(k, {})[name] = p
    assert len(beats) == 16
    for k, row in beats.items():
        s, a, t, b = (row[v] for v in RANGES)
        assert s >= a >= t > b and s - a <= 12 and a - t <= 12, (k, row)
    lines = [[(n[0], n[1], n[2]) for n in chorale.voices[v]] for v in RANGES]
    assert parallel_perfect_rate(lines) == 0.0
    bass_last = chorale.voices["bass"][-1][2]
    assert bass_last % 12 == 7                                  # the final chord in root position


def test_voices_go_to_the_asked_instruments():
    chorale = write_chorale(TUNE, (7, "major"), (4, 4), 4)
    four, parts = chorale_score(chorale, (52, 52, 52, 52), 80.0, (4, 4), (1, 0))
    assert len(four.tracks) == 4 and list(parts.values())[0] == "melody (soprano)"
    organ, parts = chorale_score(chorale, (19,), 80.0, (4, 4), (1, 0))
    assert len(organ.tracks) == 1 and organ.note_num() == sum(len(v) for v in chorale.voices.values())
    assert "melody" in list(parts.values())[0]
    assert all(a.time <= b.time for a, b in itertools.pairwise(organ.tracks[0].notes))


def test_the_chorale_closes_on_the_tonic_in_soprano_and_bass():
    off_tonic = TUNE[:-4] + [(28 * TPQ // 2, 2 * TPQ, 69)]    # the tune's last beat on A, not G
    chorale = write_chorale(off_tonic, (7, "major"), (4, 4), 4)
    assert chorale.voices["soprano"][-1][2] % 12 == 7 and chorale.voices["bass"][-1][2] % 12 == 7
    assert chorale.chords[-1] == "G:maj"


def test_drawn_sopranos_vary_and_move_in_about_the_corpus_shares():
    import numpy as np

    from partita.mir.style_bands import bands

    median = bands()["chorale"]["melody_median"]
    lines, moves = set(), []
    for seed in range(8):
        line = chorale_soprano(TUNE, 16, TPQ, (7, "major"), np.random.default_rng(seed))
        assert line[-1] % 12 == 7 and line[0] % 12 in (7, 11, 2)       # the constraints still hold
        lines.add(tuple(line))
        moves += [abs(b - a) for a, b in zip(line, line[1:], strict=False)]
    assert len(lines) >= 6          # the cheapest path is one line whatever the seed; drawn ones differ
    assert abs(np.mean([m == 0 for m in moves]) - median["repeat_share"]) < 0.1
    assert abs(np.mean([1 <= m <= 2 for m in moves]) - median["step_share"]) < 0.15


def test_a_seeded_chorale_keeps_its_rules_and_is_reproducible():
    a = write_chorale(TUNE, (7, "major"), (4, 4), 4, seed=3)
    assert a.voices == write_chorale(TUNE, (7, "major"), (4, 4), 4, seed=3).voices
    lines = [[(n[0], n[1], n[2]) for n in a.voices[v]] for v in RANGES]
    assert parallel_perfect_rate(lines) == 0.0
    for name, notes in a.voices.items():
        assert all(RANGES[name][0] <= p <= RANGES[name][1] for _, _, p in notes), name
    assert a.voices["soprano"][-1][2] % 12 == 7 and a.voices["bass"][-1][2] % 12 == 7
