"""The anticipatory sampler's mask builders and musical guards, each on hand-made inputs."""

from __future__ import annotations

import numpy as np

from partita.symbolic.amt import guards as G
from partita.tokenizers import anticipation as A


def times(mask):
    """The local ticks a time mask allows."""
    return [int(i) - A.TIME_OFFSET for i in np.flatnonzero(mask)]


def durations(mask):
    return [int(i) - A.DUR_OFFSET for i in np.flatnonzero(mask)]


def test_times_never_go_back_and_step_at_most_max_step():
    assert times(G.times_from(5, max_step=10)) == list(range(5, 16))
    assert times(G.times_from(5, chord_full=True, max_step=10)) == list(range(6, 16))   # time moves on
    assert times(G.times_from(9990)) == list(range(9990, A.MAX_TIME))
    assert not G.times_from(5)[A.DUR_OFFSET:].any()


def test_grid_keeps_the_previous_onset_and_grid_points_ahead():
    grid = G.grid_mask([0, 10, 20, 30, 400], end=30)
    assert list(np.flatnonzero(grid)) == [0, 10, 20, 30]          # points past the end dropped, the end kept
    # now = global 3, the window starting at global 2: local 1 is now, local 8 the grid point at 10
    assert times(G.on_grid(G.times_from(1), grid, now=3, lo=1, horizon=15)) == [1, 8]
    assert times(G.on_grid(G.times_from(1), grid, now=3, lo=1, horizon=30)) == [1, 8, 18, 28]
    far = G.times_from(1)
    assert G.on_grid(far, G.grid_mask([0], end=100), now=3, lo=1, horizon=15) is far   # no point ahead


def test_cover_holds_time_at_the_due_onset_unless_nothing_is_left():
    assert times(G.held_at(G.times_from(0, max_step=50), 20)) == list(range(21))
    late = G.times_from(30)
    assert G.held_at(late, 20) is late


def test_duration_ids_are_clipped_to_the_vocabulary():
    assert durations(G.duration_ids(10, 12)) == [10, 11, 12]
    assert durations(G.duration_ids(-5, 1)) == [0, 1]
    assert durations(G.duration_ids(998, 5000)) == [998, 999]


def test_note_masks():
    piano_bass = G.note_ids([0, 33])
    assert piano_bass.sum() == 256 and piano_bass[A.NOTE_OFFSET + 60] and piano_bass[A.NOTE_OFFSET + 33 * 128]
    assert G.note_ids(None).sum() == A.MAX_NOTE and not G.note_ids(None)[A.REST]
    anything = G.note_ids(None)
    anything[A.REST] = True
    used = G.only_used(anything, {33})
    assert used.sum() == 129 and used[A.REST] and used[A.NOTE_OFFSET + 33 * 128 + 40]
    assert not G.without_rest(used)[A.REST] and used[A.REST]    # a new mask; the input unchanged


def test_playable_range_and_narrow():
    ok = G.playable()
    piano = A.NOTE_OFFSET
    assert not ok[piano + G.LOWEST - 1] and ok[piano + G.LOWEST] and ok[piano + G.HIGHEST]
    assert not ok[piano + G.HIGHEST + 1] and ok[A.NOTE_OFFSET + A.DRUMS * 128 + 0]   # drums: every key
    a = G.note_ids([0])
    assert (G.narrow(a, G.note_ids([0, 1])) == a).all()
    assert G.narrow(a, G.note_ids([1])) is a     # would allow nothing: the guard yields


def test_keep_pitches_leaves_drums_and_yields_when_nothing_is_left():
    notes = G.note_ids([0, A.DRUMS])
    only_c4 = np.zeros(128, dtype=bool)
    only_c4[60] = True
    kept = G.keep_pitches(notes, only_c4)
    assert kept[A.NOTE_OFFSET + 60] and not kept[A.NOTE_OFFSET + 62]
    assert kept[A.NOTE_OFFSET + A.DRUMS * 128: A.REST].all()
    drums = G.note_ids([A.DRUMS])
    assert G.keep_pitches(drums, only_c4) is drums   # no pitched note to keep: unchanged
    bass = G.note_ids([33])
    nothing = np.zeros(128, dtype=bool)
    assert G.keep_pitches(bass, nothing) is bass


def test_parts_rule():
    assert G.ensemble_parts([33, 0], harmony=True) == [0, 33]
    assert G.ensemble_parts([0], harmony=True) == [] == G.ensemble_parts([0, 33], harmony=False)
    assert G.ensemble_parts(None, harmony=True) == []
    assert G.quiet_parts([0, 33], {0: 100}, 250) == [33]   # piano struck 1.5 s ago, the bass never
    assert G.quiet_parts([0, 33], {0: 100}, 300) == [0, 33]


def guide():
    # C5 at 0-1 s, E5 at 1-2 s, C5 at 2-3 s; C major
    return G.Guide([(0, 100, 72), (100, 200, 76), (200, 300, 72)], (0, "major"), harmony=True, cover=True)


def test_guide_key_allows_the_scale_and_nearby_given_pitch_classes():
    g = guide()
    assert list(np.flatnonzero(g.in_key(150)[60:72]) + 60) == [60, 62, 64, 65, 67, 69, 71]
    chromatic = G.Guide([(0, 100, 73), (1000, 1100, 72)], (0, "major"))
    assert chromatic.in_key(50)[61] and not chromatic.in_key(1000)[61]   # C# only within 2 s of the C#
    assert G.Guide([], None).in_key(0).all()


def test_guide_cadence_holds_at_the_first_and_last_onsets():
    g = guide()
    everything = np.ones(128, dtype=bool)
    first = g.cadence(0, everything)
    assert first[60] and first[64] and first[67] and not first[62]
    assert g.cadence(150, everything) is everything
    last = g.cadence(200, everything)
    assert list(np.flatnonzero(last)[:3]) == [0, 12, 24]          # nothing placed yet: C's only
    g.placed(200, 48)                                              # the final chord's lowest tonic: C3
    last = g.cadence(200, everything)
    assert last[36] and not last[40] and last[52] and not last[50]


def test_guide_consonance_against_the_sounding_melody():
    ok = guide().consonant(0, 100)   # under C5 (72) alone
    assert ok[72] and ok[69] and ok[67] and ok[64]
    assert not ok[71] and not ok[70] and not ok[66] and not ok[73]
    both = guide().consonant(50, 150)   # under C5 and E5
    assert both[60] and not both[65] and not both[74]


def test_guide_durations_sustain_and_close_with_the_melody():
    g = guide()
    assert g.sustain(120, sounding_until=100) == 80                # alone: to the melody onset at 200
    assert g.sustain(120, sounding_until=200) == G.MIN_DUR_TICKS   # over a note still sounding
    assert g.duration_bounds(120, 100) == (80, 80)                 # and not into the final chord
    assert g.duration_bounds(20, 200) == (G.MIN_DUR_TICKS, 180)
    assert durations(g.durations(250)) == [50]                     # the final chord ends with the melody
    assert G.Guide(g.spans, (0, "major")).durations(20) is None    # no harmony: any duration


def test_chords_guide_pitches_and_the_third_comes_first():
    c_major, g_major = frozenset({0, 4, 7}), frozenset({7, 11, 2})
    guide = G.Guide([(0, 200, 72)], (0, "major"), chords=[(0, 100, c_major), (100, 200, g_major)])
    pcs = lambda mask: sorted({int(p) % 12 for p in np.flatnonzero(mask)})  # noqa: E731
    assert pcs(guide.in_chord(50)) == [0, 4, 7] and pcs(guide.in_chord(150)) == [2, 7, 11]
    assert pcs(guide.in_chord(250)) == list(range(12))                      # past every chord
    assert G.chord_third(c_major) == 4 and G.chord_third(frozenset({9, 0, 4})) == 0
    guide.placed(0, 48)                                                      # a bass C
    assert pcs(guide.in_chord(10, third_first=True)) == [4]                  # then the chord's third
    assert pcs(guide.pitches(10, 20)) == [4]
    guide.placed(10, 64)
    assert pcs(guide.in_chord(20, third_first=True)) == [0, 4, 7]


def test_the_bass_owes_each_chord_its_root():
    guide = G.Guide([(0, 200, 72)], (0, "major"), chords=[(0, 100, frozenset({0, 4, 7})),
                                                          (100, 200, frozenset({7, 11, 2}))])
    assert guide.bass_due(10) == 0 and guide.bass_due(150) == 7 and guide.bass_due(250) is None
    guide.placed(0, 60, 0)          # a piano C: the bass still owes it
    assert guide.bass_due(10) == 0
    guide.placed(5, 36, 33)         # the electric bass plays C
    assert guide.bass_due(10) is None and guide.bass_due(150) == 7
    assert G.chord_root(frozenset({9, 0, 4})) == 9


def test_a_melody_gets_its_own_harmony_as_chord_spans():
    from symusic import Note, Track

    from partita.compose.accompany import melody_harmony
    from partita.score import new_score

    score = new_score(qpm=120, meter=(4, 4))
    track = Track("tune", 73, False)
    for i, p in enumerate([60, 60, 67, 67, 69, 69, 67, 67, 65, 65, 64, 64, 62, 62, 60, 60]):
        track.notes.append(Note(i * 480, 480, p, 80))
    score.tracks.append(track)
    key, spans = melody_harmony(score)
    c, f, g = [0, 4, 7], [0, 5, 9], [2, 7, 11]
    # the textbook harmony, a span from each change of chord to the next (beats at 120 qpm: 0.5 s)
    assert key == (0, "major") and [sorted(s[2]) for s in spans] == [c, f, c, f, c, g, c]
    assert [(s[0], s[1]) for s in spans] == [(0, 200), (200, 300), (300, 400), (400, 500), (500, 600),
                                             (600, 700), (700, 800)]
