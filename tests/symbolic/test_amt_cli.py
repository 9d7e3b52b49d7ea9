"""`partita accompany | infill | continue` end to end, with a tiny random checkpoint on disk."""

from __future__ import annotations

import pytest
import torch
from symusic import Note, Track

from partita.cli import main
from partita.score import new_score, read, write
from partita.symbolic.amt.model import amt_config, build_model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("amt") / "tiny"
    build_model(amt_config(n_layer=1, n_embd=32, n_head=2, n_positions=256)).save_pretrained(folder)
    return folder


@pytest.fixture()
def tune(tmp_path):
    score = new_score(qpm=100, meter=(3, 4))
    flute = Track("flute", 73, False)
    for i in range(18):  # six bars of 3/4
        flute.notes.append(Note(i * 480, 450, [67, 69, 71, 72, 74, 72][i % 6], 90))
    score.tracks.append(flute)
    return write(score, tmp_path / "tune.mid")


def _notes(track):
    return [(n.time, n.duration, n.pitch) for n in track.notes]


def test_accompany_keeps_the_melody_and_reports_support(tmp_path, checkpoint, tune, capsys):
    out = tmp_path / "acc.mid"
    assert main(["accompany", str(tune), "-o", str(out), "--model", str(checkpoint), "--instruments", "piano,bass",
                 "--candidates", "2", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "melody kept (18 notes)" in printed and "best of 2" in printed
    got, melody = read(out), read(tune)
    assert _notes(got.tracks[0]) == _notes(melody.tracks[0])
    assert {t.program for t in got.tracks[1:]} <= {0, 32, 33}


def test_accompany_free_samples_without_the_guards(tmp_path, checkpoint, tune, capsys):
    from partita.mir.key import estimate_key

    guided, free = tmp_path / "g.mid", tmp_path / "f.mid"
    for out, extra in ((guided, []), (free, ["--free"])):
        assert main(["accompany", str(tune), "-o", str(out), "--model", str(checkpoint), "--instruments", "piano",
                     "--candidates", "1", "--seed", "5", *extra]) == 0
    key = estimate_key(read(tune))
    scale = {(key.tonic + i) % 12 for i in (0, 2, 4, 5, 7, 9, 11)}
    pcs = {kind: {n.pitch % 12 for t in read(path).tracks[1:] for n in t.notes}
           for kind, path in (("guided", guided), ("free", free))}
    assert pcs["guided"] <= scale | {p % 12 for p in (67, 69, 71, 72, 74)}
    notes = {path: [_notes(t) for t in read(path).tracks[1:]] for path in (guided, free)}
    assert notes[guided] != notes[free]   # --free reaches the sampler


def test_infill_bars_keeps_the_rest(tmp_path, checkpoint, tune, capsys):
    out = tmp_path / "inf.mid"
    assert main(["infill", str(tune), "-o", str(out), "--model", str(checkpoint), "--start-bar", "3",
                 "--end-bar", "4"]) == 0
    bar = 3 * 480
    got = read(out).tracks[0].notes
    outside = [(n.time, n.pitch) for n in got if not 2 * bar <= n.time < 4 * bar]
    original = [(n.time, n.pitch) for n in read(tune).tracks[0].notes if not 2 * bar <= n.time < 4 * bar]
    assert outside == original


def test_continue_adds_bars(tmp_path, checkpoint, tune, capsys):
    out = tmp_path / "cont.mid"
    assert main(["continue", str(tune), "-o", str(out), "--model", str(checkpoint), "--bars", "2"]) == 0
    assert "added after 18 notes" in capsys.readouterr().out
    assert _notes(read(out).tracks[0])[:18] == _notes(read(tune).tracks[0])


@pytest.mark.parametrize(("verb", "extra", "message"), [
    ("infill", ["--start-bar", "5", "--end-bar", "40"], "outside the piece"),
    ("infill", [], "--start-bar"),
    ("continue", [], "--bars"),
    ("continue", ["--bars", "0"], "1 to 256"),
    ("accompany", ["--candidates", "0"], "1 to 32"),
    ("accompany", ["--instruments", "zzz"], "no instrument names"),
    ("accompany", ["--top-p", "0"], "--top-p"),
])
def test_bad_requests_are_one_line_errors(tmp_path, checkpoint, tune, capsys, verb, extra, message):
    out = tmp_path / "x.mid"
    assert main([verb, str(tune), "-o", str(out), "--model", str(checkpoint), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0
    assert not out.exists()


def test_missing_checkpoint_says_how_to_get_one(tmp_path, tune, capsys):
    assert main(["accompany", str(tune), "-o", str(tmp_path / "a.mid"), "--model", str(tmp_path / "none")]) == 2
    assert "no anticipatory checkpoint" in capsys.readouterr().err


def test_train_anticipatory_writes_a_checkpoint_and_resumes(tmp_path, monkeypatch, capsys):
    import json
    import random

    import numpy as np
    from music21 import corpus

    from partita.score import from_music21
    from partita.symbolic.amt import train as T
    from partita.symbolic.amt.data import assign_programs, piece_events, sequences
    from partita.symbolic.amt.model import load

    events = piece_events(assign_programs("chorales", from_music21(corpus.parse("bach/bwv66.6")), random.Random(0)), 0)
    seqs = np.asarray(list(sequences(events * 3, random.Random(0), augment=10))[:4], dtype=np.int64)
    monkeypatch.setattr(T, "cached_dataset", lambda *a, **k: seqs)
    out = tmp_path / "amt"
    args = ["train", "anticipatory", "-o", str(out), "--layers", "1", "--width", "48", "--heads", "2",
            "--batch-size", "1", "--quiet"]
    assert main([*args, "--steps", "2"]) == 0
    assert "wrote" in capsys.readouterr().out
    record = json.loads((out / "training.json").read_text())
    assert record["steps"] == 2 and np.isfinite(record["heldout"]["loss"])
    model, config = load(out)
    assert config.n_layer == 1 and config.n_embd == 48
    assert main([*args, "--steps", "1"]) == 0       # resumed from the saved step
    assert json.loads((out / "training.json").read_text())["steps"] == 3
