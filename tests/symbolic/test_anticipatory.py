"""AMT generation with a tiny random model built from the real classes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from symusic import Note, Tempo, Track

from partita.compose.accompany import accompany, accompany_best, continue_piece, infill
from partita.errors import PartitaError
from partita.sampling import SamplingConfig, grammar_constraint, nucleus, sample
from partita.score import new_score
from partita.symbolic.amt.model import amt_config, build_model, load
from partita.symbolic.amt.sample import generate_events, merge
from partita.tokenizers import anticipation as A


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model(amt_config(n_layer=1, n_embd=32, n_head=2, n_positions=256)).eval()


def melody(seconds=4):
    score = new_score(qpm=120)
    track = Track("flute", 73, False)
    for i in range(seconds * 2):
        track.notes.append(Note(i * 480, 400, 72 + (i % 5), 90))
    score.tracks.append(track)
    return score


def test_nucleus_keeps_the_top_mass():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    kept = nucleus(logits, 0.75)
    assert torch.isfinite(kept[:2]).all() and torch.isinf(kept[2:]).all()


def test_grammar_constrained_sampling_is_grammatical(tiny):
    g = A.grammar()
    out = sample(tiny, [A.AUTOREGRESS], 30, constraints=[grammar_constraint(g)], config=SamplingConfig(seed=1))
    assert g.violations([A.AUTOREGRESS, *out]) == 0


def test_kv_cache_gives_the_same_tokens(tiny):
    a = sample(tiny, [A.AUTOREGRESS, 0, 10010], 12, config=SamplingConfig(seed=3), use_cache=True)
    b = sample(tiny, [A.AUTOREGRESS, 0, 10010], 12, config=SamplingConfig(seed=3), use_cache=False)
    assert a == b


def test_accompaniment_keeps_the_melody_and_uses_asked_instruments(tiny):
    mel = melody()
    out = accompany(tiny, mel, instruments=[0, 33], config=SamplingConfig(seed=0, top_p=1.0))
    flute = next(t for t in out.tracks if t.program == 73)
    assert [(n.pitch) for n in flute.notes] == [n.pitch for n in mel.tracks[0].notes]
    others = {t.program for t in out.tracks if t.program != 73}
    assert others <= {0, 33}
    events = A.midi_to_events(out)
    times = [t for t in events[0::3]]
    assert times == sorted(times)


def test_infill_keeps_notes_outside_the_span(tiny):
    piece = melody(6)
    out = infill(tiny, piece, 1.0, 3.0, config=SamplingConfig(seed=2))
    def outside(score):
        sec = score.to("second")
        return sorted((round(n.time, 2), n.pitch) for t in sec.tracks for n in t.notes if not 1.0 <= n.time <= 3.0)
    assert outside(out) == outside(piece)


def test_loading_a_released_style_checkpoint(tmp_path, tiny):
    folder = tmp_path / "music-small-800k"
    tiny.save_pretrained(folder)
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["scale_attn_by_inverse_layer_idx"] and cfg["vocab_size"] == 55028
    model, config = load(folder)
    assert config.n_layer == 1 and model.config is config and not model.training
    (folder / "config.json").write_text(json.dumps({**cfg, "vocab_size": 1000}))
    with pytest.raises(PartitaError, match="vocabulary"):
        load(folder)
    with pytest.raises(PartitaError, match="no config.json"):
        load(tmp_path / "nothing")


def _notes(track):
    return [(n.time, n.duration, n.pitch, n.velocity) for n in track.notes]


def test_accompaniment_goes_in_new_tracks_and_keeps_the_file_as_it_was(tiny):
    mel = melody(6)
    mel.tempos.append(Tempo(960, qpm=90))  # a tempo change: ticks are kept, not re-timed
    out = accompany(tiny, mel, instruments=[73], config=SamplingConfig(seed=4, top_p=1.0))
    assert _notes(out.tracks[0]) == _notes(mel.tracks[0])
    assert [(t.time, t.qpm) for t in out.tempos] == [(t.time, t.qpm) for t in mel.tempos]
    assert all(t.program == 73 for t in out.tracks[1:])  # same instrument, its own track


def test_accompany_rejects_empty_and_drum_only_melodies(tiny):
    with pytest.raises(PartitaError, match="no notes"):
        accompany(tiny, new_score())
    drums = new_score()
    track = Track("kit", 0, True)
    track.notes.append(Note(0, 100, 36, 100))
    drums.tracks.append(track)
    with pytest.raises(PartitaError, match="drums only"):
        accompany(tiny, drums)


def test_generation_slides_past_the_context_and_the_100_second_vocabulary(tiny):
    """A 112 s melody with a 64-token context: the window slides, times go past 100 s."""
    events = []
    for i in range(160):
        events += [A.TIME_OFFSET + 70 * i, A.DUR_OFFSET + 65, A.NOTE_OFFSET + 73 * 128 + 72 + i % 5]
    controls = [tok + A.CONTROL_OFFSET for tok in events]
    end = 70 * 160
    new = generate_events(tiny, start=0, end=end, controls=controls, instruments=[0], max_step=250,
                          config=SamplingConfig(seed=0), window=64)
    times = [t - A.TIME_OFFSET for t in new[0::3]]
    assert times == sorted(times)
    assert max(times) > A.MAX_TIME and max(times) < end
    assert len(new) > 64  # more event tokens than the context holds
    assert {(n - A.NOTE_OFFSET) // 128 for n in new[2::3]} == {0}


def test_best_of_candidates_keeps_the_highest_support(tiny):
    from partita.compose.accompany import accompaniment_scores

    best, every = accompany_best(tiny, melody(), candidates=3, instruments=[0], config=SamplingConfig(seed=1))
    assert [c.seed for c in every] == [3, 4, 5]      # seed 1 of 3 candidates: seeds 3-5
    assert best.report == accompaniment_scores(melody(), best.value)   # each report is the candidate's own
    ranks = [(c.report["harmonic_support"], c.report["coverage"]) for c in every]
    assert best.rank == max(ranks) and best is every[ranks.index(max(ranks))]   # the earliest of the best
    alone = accompany(tiny, melody(), instruments=[0], config=SamplingConfig(seed=best.seed))
    assert [_notes(t) for t in alone.tracks] == [_notes(t) for t in best.value.tracks]   # candidate i: seed + i


def test_continue_adds_music_after_the_piece(tiny):
    piece = melody(4)
    out = continue_piece(tiny, piece, 3.0, config=SamplingConfig(seed=5))
    assert _notes(out.tracks[0])[: len(piece.tracks[0].notes)] == _notes(piece.tracks[0])
    assert all(n.time >= piece.tracks[0].notes[-1].time for n in out.tracks[0].notes[len(piece.tracks[0].notes):])
    with pytest.raises(PartitaError, match="positive"):
        continue_piece(tiny, piece, 0)


def test_merge_drops_the_span_in_token_ticks_and_adds_events():
    piece = melody(4)  # notes every 0.5 s at 120 qpm
    ev = [A.TIME_OFFSET + 100, A.DUR_OFFSET + 50, A.NOTE_OFFSET + 33 * 128 + 40]
    out = merge(piece, ev, drop=(100, 200))  # drops the notes at 1.0 and 1.5 s
    assert [n.time for n in out.tracks[0].notes] == [0, 480, 1920, 2400, 2880, 3360]
    bass = out.tracks[1]
    assert bass.program == 33 and _notes(bass) == [(960, 480, 40, 90)]
    assert merge(piece, ev).tracks[0].notes == piece.tracks[0].notes


def test_grammar_loss_is_cross_entropy_over_each_slots_ids(tiny):
    from partita.symbolic.amt.train import grammar_loss, slot_ids

    x = torch.tensor([[A.ANTICIPATE, 0, A.DUR_OFFSET + 20, A.NOTE_OFFSET + 60,
                       A.ATIME_OFFSET + 500, A.ADUR_OFFSET + 10, A.ANOTE_OFFSET + 62, 30, A.DUR_OFFSET + 5,
                       A.NOTE_OFFSET + 64]])
    with torch.no_grad():
        got = grammar_loss(tiny, x, reduction="none")[0]
        logits = tiny(x).logits[0, :-1]
    for i in range(x.shape[1] - 1):
        ids = slot_ids(i % 3)
        logp = torch.log_softmax(logits[i, ids], -1)
        want = -logp[(ids == x[0, i + 1]).nonzero()[0, 0]]
        assert got[i].item() == pytest.approx(want.item(), rel=1e-4)


def test_rhythm_grid_follows_the_tempo_map_and_the_melody():
    from partita.symbolic.amt.guards import rhythm_grid

    mel = melody(2)  # 120 qpm: a sixteenth is 12.5 ticks of 10 ms
    grid = rhythm_grid(mel, 100)
    assert grid[:5] == [0, 12, 25, 38, 50] and grid[-1] == 100
    ev = [A.TIME_OFFSET + 33, A.DUR_OFFSET + 10, A.NOTE_OFFSET + 60]
    assert 33 in rhythm_grid(mel, 100, events=ev)


def test_generated_onsets_stay_on_the_grid(tiny):
    grid = [0, 50, 100, 150, 200, 250, 300]
    new = generate_events(tiny, start=0, end=300, instruments=[0], config=SamplingConfig(seed=2), grid=grid,
                          max_step=120)
    assert new and all(t - A.TIME_OFFSET in grid for t in new[0::3])


def _melody_and_accompaniment(out, n_melody=1):
    from partita.mir.metrics import note_spans

    mel = note_spans(out, tracks=list(range(n_melody)))
    acc = note_spans(out, tracks=list(range(n_melody, len(out.tracks))))
    return mel, acc


def diatonic_melody(seconds=6):
    score = new_score(qpm=120)
    track = Track("flute", 73, False)
    for i in range(seconds * 2):
        track.notes.append(Note(i * 480, 400, (72, 74, 76, 77, 79, 76, 74, 72)[i % 8], 90))
    score.tracks.append(track)
    return score


def test_guided_accompaniment_covers_the_melody_in_key_without_clashes(tiny):
    from partita.mir.metrics import coverage

    mel_score = diatonic_melody()   # C major
    guided = accompany(tiny, mel_score, instruments=[0], config=SamplingConfig(seed=4, top_p=1.0))
    mel, acc = _melody_and_accompaniment(guided)
    assert acc
    # cover: something of the accompaniment sounds 50 ms into every melody note
    assert all(any(a_on <= on + 0.05 < a_off for a_on, a_off, _ in acc) for on, _, _ in mel)
    assert coverage(mel, acc) > 0.9
    for a_on, _a_off, p in acc:   # no clash with the melody sounding where a note starts
        at_onset = [m for m in mel if m[0] <= a_on + 0.005 < m[1]]
        assert all((m[2] - p) % 12 not in {1, 2, 6, 10, 11} and p <= m[2] for m in at_onset)
        assert p % 12 in {0, 2, 4, 5, 7, 9, 11}
    # cadence: the accompaniment closes with the melody, its lowest final note on the tonic (C)
    last_on, end = mel[-1][0], max(off for _, off, _ in mel)
    final = [x for x in acc if x[0] >= last_on - 0.005]
    assert final and min(final, key=lambda x: x[2])[2] % 12 == 0
    assert all(abs(off - end) < 0.02 for _, off, _ in final)
    assert all(off <= last_on + 0.02 for on, off, _ in acc if on < last_on - 0.005)
    # the random model alone writes out-of-key pitch classes (here in one of its first three
    # seeds; any one seed may happen to stay in key): the guards are what removed them
    frees = [_melody_and_accompaniment(accompany(tiny, mel_score, instruments=[0], guided=False,
                                                 config=SamplingConfig(seed=s, top_p=1.0)))[1] for s in (4, 5, 6)]
    assert any(p % 12 not in {0, 2, 4, 5, 7, 9, 11} for acc_free in frees for _, _, p in acc_free)


def test_guided_infill_keeps_to_the_key_of_the_notes_kept(tiny):
    piece = diatonic_melody(8)
    out = infill(tiny, piece, 1.0, 3.0, config=SamplingConfig(seed=5, top_p=1.0))
    new = [n.pitch for t in out.tracks for n in t.notes
           if 1.0 <= n.time / 960 < 3.0]   # 120 qpm, 480 ticks per quarter: 960 ticks a second
    assert all(p % 12 in {0, 2, 4, 5, 7, 9, 11} for p in new)


def test_guide_of_controls_reads_the_key_and_masks_pitches():
    from partita.symbolic.amt.guards import Guide

    events = A.midi_to_events(diatonic_melody(6))
    guide = Guide.of_events([tok + A.CONTROL_OFFSET for tok in events], harmony=True, cover=True)
    assert guide.scale == {0, 2, 4, 5, 7, 9, 11}
    ok = guide.pitches(0, 40)                    # over the first melody note, C5 (72)
    assert ok[60] and ok[64] and ok[67] and not ok[62] and not ok[71] and not ok[79]
    assert guide.latest_onset(0, 0) == 0 and guide.latest_onset(0, 100) == 100


def test_a_lone_accompaniment_note_holds_to_the_next_melody_onset():
    from partita.symbolic.amt.guards import MIN_DUR_TICKS, SUSTAIN_TICKS, Guide

    def shortest(mask):
        return int(np.flatnonzero(mask)[0]) - A.DUR_OFFSET

    # melody onsets every 50 ticks (0.5 s), notes 40 ticks long
    guide = Guide.of_events(A.midi_to_events(diatonic_melody(6)), harmony=True, cover=True)
    assert shortest(guide.durations(120, sounding_until=100)) == 30      # alone: to the onset at 150
    assert shortest(guide.durations(120, sounding_until=200)) == MIN_DUR_TICKS   # over another note
    slow = Guide([(0, 400, 72), (400, 800, 74), (800, 900, 72)], (0, "major"), harmony=True, cover=True)
    assert shortest(slow.durations(0)) == SUSTAIN_TICKS                 # capped at 1 s
    assert shortest(Guide(slow.spans, (0, "major"), harmony=True).durations(0)) == MIN_DUR_TICKS



def test_every_asked_instrument_plays_in_range(tiny):
    from partita.symbolic.amt import guards as AM

    ensemble = [0, 33, 40]   # piano, bass, violin
    out = accompany(tiny, diatonic_melody(8), instruments=ensemble, config=SamplingConfig(seed=2, top_p=1.0))
    strikes = sorted({(round(n.time / 9.6), t.program) for t in out.tracks[1:] for n in t.notes})  # 10 ms ticks
    assert {p for _, p in strikes} == set(ensemble)
    last: dict[int, int] = {}
    for onset in sorted({t for t, _ in strikes}):
        quiet = {p for p in ensemble if onset - last.get(p, -AM.PART_GAP_TICKS) >= AM.PART_GAP_TICKS}
        here = {p for t, p in strikes if t == onset}
        assert not quiet or here & quiet, (onset, quiet, here)   # a part silent for 2 s plays first
        last.update({p: onset for p in here})
    assert all(AM.LOWEST <= n.pitch <= AM.HIGHEST for t in out.tracks[1:] for n in t.notes)

def test_restruck_notes_end_where_they_are_struck_again_and_doubles_go():
    from partita.symbolic.amt.sample import restruck

    def ev(on, dur, pitch, program=0):
        return [A.TIME_OFFSET + on, A.DUR_OFFSET + dur, A.NOTE_OFFSET + program * A.MAX_PITCH + pitch]

    events = ev(0, 100, 60) + ev(0, 40, 60) + ev(50, 20, 60) + ev(50, 30, 60, program=1) + ev(10, 30, 64)
    out = sorted(tuple(tr) for tr in A.triples(restruck(events)))
    assert out == sorted([tuple(ev(0, 50, 60)), tuple(ev(50, 50, 60)),   # doubled, then re-struck
                          tuple(ev(50, 30, 60, program=1)), tuple(ev(10, 30, 64))])


def test_guided_infill_leaves_no_silent_beat_in_the_span(tiny):
    from partita.mir.metrics import note_spans

    piece = diatonic_melody(8)   # 120 qpm: a beat every 0.5 s
    out = infill(tiny, piece, 1.0, 3.0, config=SamplingConfig(seed=6, top_p=1.0))
    spans = note_spans(out)
    for beat in (1.0, 1.5, 2.0, 2.5):
        assert any(on <= beat + 0.05 < off for on, off, _ in spans), beat


def test_guided_infill_keeps_a_single_line_single(tiny):
    from collections import Counter

    piece = diatonic_melody(8)
    fullest = {}
    for guided in (True, False):   # three seeds: the random model alone stacks notes in some of them
        fullest[guided] = max(max(Counter(n.time for t in out.tracks for n in t.notes).values())
                              for out in (infill(tiny, piece, 0.5, 3.5, config=SamplingConfig(seed=s, top_p=1.0),
                                                 guided=guided) for s in (0, 1, 2)))
    assert fullest[True] == 1 and fullest[False] > 1
