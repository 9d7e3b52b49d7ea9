"""AMT generation with a tiny random model built from the real classes."""

from __future__ import annotations

import json

import pytest
import torch
from symusic import Note, Track

from partita.errors import PartitaError
from partita.score import new_score
from partita.symbolic.anticipatory import accompany, amt_config, build_model, infill, load_model
from partita.symbolic.sampling import SamplingConfig, grammar_constraint, nucleus, sample
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
    model = load_model(folder)
    assert model.config.n_layer == 1
    (folder / "config.json").write_text(json.dumps({**cfg, "vocab_size": 1000}))
    with pytest.raises(PartitaError, match="vocabulary"):
        load_model(folder)
    with pytest.raises(PartitaError, match="no config.json"):
        load_model(tmp_path / "nothing")
