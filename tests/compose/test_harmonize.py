"""The tune harmoniser: textbook harmonisations of tunes typed in by hand."""

from __future__ import annotations

from partita.compose.harmonize import chord_set, harmonize
from partita.theory import chord_to_pitch_classes

T = 480


def _tune(pitches, beat=T):
    """Quarter notes (beat ticks each); None holds the previous note one beat longer."""
    out = []
    for i, p in enumerate(pitches):
        if p is None:
            continue
        d = beat
        j = i + 1
        while j < len(pitches) and pitches[j] is None:
            d += beat
            j += 1
        out.append((i * beat, d, p))
    return out


TWINKLE = _tune([60, 60, 67, 67, 69, 69, 67, None, 65, 65, 64, 64, 62, 62, 60, None])


def test_twinkle_gets_the_textbook_chords():
    chords = harmonize(TWINKLE, (0, "major"), bar_ticks=4 * T, beat_ticks=T, bars=4, per_bar=2)
    assert chords == ["C:maj", "C:maj", "F:maj", "C:maj", "F:maj", "C:maj", "G:maj", "C:maj"]
    # every note of the tune is a tone of the chord of its half bar
    assert all(p % 12 in chord_to_pitch_classes(chords[on // (2 * T)]) for on, _, p in TWINKLE)


def test_one_chord_a_bar_starts_and_ends_on_the_tonic_in_minor():
    # A minor: A C E | D F A | E G# B | A
    tune = _tune([69, 72, 76, None, 74, 77, 81, None, 76, 80, 83, None, 81, None, None, None])
    chords = harmonize(tune, (9, "minor"), bar_ticks=4 * T, beat_ticks=T, bars=4)
    assert chords == ["A:min", "D:min", "E:maj", "A:min"]


def test_chord_sets_follow_the_mode():
    assert [c[0] for c in chord_set((2, "dorian"))][:3] == ["D:min", "G:maj", "C:maj"]
    assert [c[0] for c in chord_set((7, "major"))][:3] == ["G:maj", "C:maj", "D:maj"]
    assert harmonize([], (0, "major"), bar_ticks=4 * T, beat_ticks=T, bars=0) == []


def test_a_drawn_path_follows_the_costs_shares():
    import numpy as np

    from partita.compose.harmonize import sampled_path

    # two states; staying costs -log 0.8, switching -log 0.2; state 1 may never start
    move = -np.log(np.array([[0.8, 0.2], [0.2, 0.8]]))
    rng = np.random.default_rng(0)
    paths = [sampled_path(np.array([0.0, np.inf]), [((move,), 0.0)] * 9, rng) for _ in range(400)]
    assert all(p[0] == 0 for p in paths)
    switches = np.mean([a != b for p in paths for a, b in zip(p, p[1:], strict=False)])
    assert abs(switches - 0.2) < 0.03
