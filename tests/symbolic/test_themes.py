"""Theme retrieval: segments, augmentations, the contrastive loss, clustering."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from symusic import Note, Track

from partita.cli import main
from partita.errors import PartitaError
from partita.score import new_score, write
from partita.symbolic.theme import retrieval as TH


def tune(bars_pitches):
    score = new_score(qpm=120, meter=(4, 4))
    track = Track("melody", 73, False)
    for b, pitches in enumerate(bars_pitches):
        for i, p in enumerate(pitches):
            track.notes.append(Note(b * 1920 + i * 480, 480, p, 90))
    score.tracks.append(track)
    return score


A1, A2 = [60, 60, 67, 67], [69, 69, 67, 67]
B1, B2 = [65, 64, 62, 60], [59, 57, 55, 53]


def test_segments_hop_one_bar_and_take_the_skyline():
    score = tune([A1, A2, B1, B2])
    low = Track("bass", 32, False)
    low.notes.append(Note(0, 1920, 36, 80))
    score.tracks.append(low)
    segs = TH.segments(score, bars=2)
    assert [s.start_bar for s in segs] == [0, 1, 2]
    assert [p for _, _, p in segs[0].notes] == A1 + A2
    assert segs[1].notes[0] == (0.0, 1.0, 69)


def test_features_are_transposition_invariant():
    seg = [(0.0, 1.0, 60), (1.0, 0.5, 64), (1.5, 0.5, 67)]
    up = [(on, d, p + 5) for on, d, p in seg]
    assert np.array_equal(TH.features(seg), TH.features(up))
    assert TH.features(seg)[3].sum() == 0  # padding


def test_augmentations_keep_a_segment_recognisable():
    rng = random.Random(0)
    seg = [(0.0, 1.0, 60), (1.0, 1.0, 62), (2.0, 1.0, 64), (3.0, 1.0, 65)]
    for _ in range(50):
        view = TH.augment(seg, rng)
        assert 3 <= len(view) <= 5
        assert [on for on, _, _ in view] == sorted(on for on, _, _ in view)


def test_nt_xent_prefers_matching_pairs():
    a = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    assert TH.nt_xent(a, a) < TH.nt_xent(a, a.roll(1, 0))


# A1 A2 | B1 B2 | A1 A2 | C B2 | A1 A2: A1 A2 returns at bars 5 and 9, "B2 A1" at bars 4 and 8
RETURNS = [A1, A2, B1, B2, A1, A2, [72, 71, 69, 67], B2, A1, A2]


def test_find_themes_groups_identical_returns():
    torch.manual_seed(0)
    model = TH.SegmentEmbedder().eval()  # identical segments embed identically, trained or not
    themes = TH.find_themes(model, tune(RETURNS), bars=2, eps=1e-6)
    assert [(t.start_bar, t.occurrences) for t in themes] == [(1, [1, 5, 9]), (4, [4, 8])]
    assert [p for _, _, p in themes[0].notes] == A1 + A2
    with pytest.raises(PartitaError, match="too few"):
        TH.find_themes(model, tune([A1]), bars=2)


def test_save_load_restores_every_weight_and_the_config(tmp_path):
    torch.manual_seed(0)
    config = TH.EmbedderConfig(hidden=24, dim=8)
    model = TH.SegmentEmbedder(config).eval()
    TH.save(model, tmp_path / "emb")
    torch.manual_seed(1)
    loaded, loaded_config = TH.load(tmp_path / "emb")
    assert loaded_config == config and not loaded.training
    want, got = model.state_dict(), loaded.state_dict()
    assert want.keys() == got.keys()
    for name, tensor in want.items():
        assert torch.equal(tensor, got[name]), name
    x = torch.from_numpy(np.stack([TH.features(s) for s in TH.segments(tune(RETURNS), 2)]))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    with pytest.raises(PartitaError, match="no theme embedder"):
        TH.load(tmp_path / "none")


def test_cli_themes_prints_what_the_given_model_finds(tmp_path, capsys):
    torch.manual_seed(0)
    model = TH.SegmentEmbedder().eval()
    folder = TH.save(model, tmp_path / "emb")
    score = tune(RETURNS)
    path = write(score, tmp_path / "t.mid")
    assert main(["themes", str(path), "--model", str(folder), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    found = TH.find_themes(model, score, bars=2)
    assert printed == [{"start_bar": t.start_bar, "bars": 2, "occurrences": t.occurrences,
                        "notes": [list(n) for n in t.notes]} for t in found]
    assert main(["themes", str(path), "--model", str(tmp_path / "none")]) == 2
    assert "no such checkpoint folder" in capsys.readouterr().err


def test_cli_themes_with_the_shipped_embedder_finds_the_returns(tmp_path, capsys):
    path = write(tune(RETURNS), tmp_path / "t.mid")
    assert main(["themes", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "theme 1: bars 1-2, returns at bars 1, 5, 9: C4 C4 G4 G4 A4 A4 G4 G4",
        "theme 2: bars 4-5, returns at bars 4, 8: B3 A3 G3 F3 C4 C4 G4 G4",
    ]
    assert main(["themes", str(path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [(t["start_bar"], t["bars"], t["occurrences"]) for t in printed] == [(1, 2, [1, 5, 9]), (4, 2, [4, 8])]
    assert printed[0]["notes"] == [[float(i), 1.0, p] for i, p in enumerate(A1 + A2)]
