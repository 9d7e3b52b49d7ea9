"""Descriptions users write (`partita generate --description FILE`)."""

from __future__ import annotations

import json

import pytest

from partita.cli import main
from partita.compose import description_file as DF
from partita.compose.text_to_midi import generate
from partita.errors import PartitaError
from partita.score import TPQ, read

DESC = {
    "key": "E-flat major", "meter": "3/4", "tempo": 90, "instruments": ["flute", "cello"],
    "bars": [{"chord": "Eb", "density": 3}, {"chord": "Cm7", "instruments": ["flute"]},
             {"chord": "Ab:maj", "repeat": 2, "section": "B"}, {"chord": "Bb7"}, {"chord": "Eb", "density": 1}],
}


def test_chord_symbols_and_labels():
    assert DF.chord_label("F#m7") == "F#:min7" and DF.chord_label("Bb7") == "Bb:dom7"
    assert DF.chord_label("A#:maj") == "Bb:maj" and DF.chord_label("Edim") == "E:dim"
    with pytest.raises(PartitaError, match="chord 'H7'"):
        DF.chord_label("H7")


def test_the_plan_is_the_description():
    attrs, plan = DF.attributes_and_plan(DESC)
    assert attrs.key == (3, "major") and attrs.meter == (3, 4) and attrs.tempo == 90 and attrs.bars == 6
    assert [b.chord for b in plan.bars] == ["Eb:maj", "C:min7", "Ab:maj", "Ab:maj", "Bb:dom7", "Eb:maj"]
    assert plan.bars[0].density == 3 and plan.bars[5].density == 1
    assert plan.bars[1].instruments == (73,) and plan.bars[0].instruments == (73, 42)
    assert plan.form == "ABA"


def test_generation_follows_the_description():
    gen = generate("", description=DESC, candidates=1, seed=0)
    rows = {r.attribute: r for r in gen.report.rows}
    assert rows["key"].score == 1 and rows["meter"].score == 1 and rows["bars"].score == 1
    bar = TPQ * 3
    cello = next(t for t in gen.score.tracks if t.program == 42)
    assert cello.notes and not [n for n in cello.notes if n.time // bar == 1]  # it rests in bar 2
    assert [n for n in cello.notes if n.time // bar == 0]


@pytest.mark.parametrize("bad,message", [
    ({"bars": []}, "non-empty list"),
    ({"bars": [{"chord": "C", "volume": 3}]}, "unknown field"),
    ({"bars": [{"chord": "C", "instruments": ["tuba"]}], "instruments": ["flute"]}, "does not list"),
    ({"bars": [{"chord": "C", "repeat": 0}]}, "repeat"),
    ({"bars": [{"chord": "C", "density": -2}]}, "density"),
    ({"bars": [{"chord": "C"}], "tempo": "zippy"}, "tempo"),
])
def test_bad_descriptions_get_one_line_errors(tmp_path, capsys, bad, message):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(bad))
    assert main(["generate", "a waltz", "--description", str(path), "-o", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_cli_reads_yaml(tmp_path, capsys):
    path = tmp_path / "tune.yaml"
    path.write_text("key: D dorian\nmeter: 6/8\ninstruments: [fiddle]\nbars:\n  - {chord: Dm, repeat: 3}\n  - {chord: C}\n")
    assert main(["generate", "--description", str(path), "-o", str(tmp_path), "--candidates", "1"]) == 0
    score = read(tmp_path / "tune.mid")
    assert score.time_signatures[0].numerator == 6 and "D dorian" in capsys.readouterr().out
