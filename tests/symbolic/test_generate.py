"""Planner, arranger and the text-to-MIDI pipeline (rule-based parts)."""

from __future__ import annotations

import json

import pytest

from partita.cli import main
from partita.compose.arrange import arrange, key_signature, roles
from partita.compose.plan import bars_for, form_of, plan
from partita.compose.text_to_midi import generate, slug
from partita.mir.analysis import analyze
from partita.text.attributes import DRUMS, Attributes


def test_form_and_bars():
    assert "".join(form_of(16)) == "A" * 8 + "B" * 4 + "A" * 4
    assert "".join(form_of(8)) == "AAAABBBB"
    assert bars_for(Attributes(seconds=30, tempo=120, meter=(4, 4))) == 15
    assert bars_for(Attributes(bars=12)) == 12


def test_plan_loops_asked_chords_and_ends_on_the_tonic():
    attrs = Attributes(key=(0, "major"), meter=(4, 4), tempo=100, instruments=(0,), bars=8,
                       chords=("C:maj", "A:min", "F:maj", "G:maj"))
    p = plan(attrs)
    assert [b.chord for b in p.bars] == ["C:maj", "A:min", "F:maj", "G:maj"] * 2
    free = plan(Attributes(key=(9, "minor"), meter=(3, 4), tempo=90, instruments=(0,), bars=16))
    assert free.bars[-1].chord == "A:min"
    first_a = [b.chord for b in free.bars[:4]]
    assert [b.chord for b in free.bars[4:8]] == first_a  # A A B A: the second A repeats


@pytest.mark.parametrize(("key", "expected"), [((7, "major"), (1, 0)), ((4, "minor"), (1, 1)),
                                                ((2, "dorian"), (0, 0)), ((5, "major"), (-1, 0))])
def test_key_signatures(key, expected):
    ks = key_signature(key)
    assert (ks.key, ks.tonality) == expected


def test_arrangement_has_every_part_and_exact_length():
    attrs = Attributes(key=(2, "major"), meter=(6, 8), tempo=160, instruments=(40, 33, 0, DRUMS), bars=8)
    arr = arrange(plan(attrs), attrs.instruments)
    assert list(arr.parts.values()) == ["melody", "bass", "comping", "drums"]
    assert roles((0, 42)) == ["comping", "melody"]
    assert roles((0,)) == ["melody+comping"]
    assert roles((40, 40, 41, 42)) == ["melody", "harmony", "harmony", "bass"]
    assert roles((52, 52, 52, 52)) == ["melody", "harmony", "harmony", "harmony"]
    a = analyze(arr.score, chords=False, objective_metrics=False)
    assert a.bars == 8 and a.meter == (6, 8) and a.tempo == 160
    assert a.instruments == [0, 33, 40, DRUMS]
    assert all(len(t.notes) for t in arr.score.tracks)


@pytest.mark.parametrize("prompt", [
    "A jig in D major for fiddle and tin whistle, 32 bars",
    "a slow waltz in E-flat for piano",
    "b minor ballad at 76 bpm for cello and piano, 8 bars",
    "Allegro in G major for string quartet, 16 bars",
])
def test_generate_honours_the_prompt(prompt):
    gen = generate(prompt, seed=0, candidates=2)
    assert gen.report.score >= 0.9
    rows = {r.attribute: r.score for r in gen.report.rows}
    assert rows["tempo"] == rows["meter"] == rows["instruments"] == rows["bars"] == 1.0


def test_generate_is_seeded():
    a = generate("a polka in F major for accordion", seed=3, candidates=1)
    b = generate("a polka in F major for accordion", seed=3, candidates=1)
    assert a.score.dumps_midi() == b.score.dumps_midi()


def test_cli_generate_writes_files_and_report(tmp_path, capsys):
    assert main(["generate", "a reel in G major for fiddle, 8 bars", "-o", str(tmp_path), "--no-embeddings",
                 "--candidates", "2"]) == 0
    out = capsys.readouterr().out
    assert "| **fidelity** |" in out
    stem = slug("a reel in G major for fiddle, 8 bars")
    data = json.loads((tmp_path / f"{stem}.json").read_text())
    assert data["attributes_asked"]["meter"] == [4, 4] and data["fidelity"]["score"] >= 0.9
    assert (tmp_path / f"{stem}.mid").exists() and (tmp_path / f"{stem}.musicxml").exists()
    # a reel is a tune style of the corpus: the shipped ABC model writes the fiddle's melody by default
    assert data["parts"] == {"Violin": "abc model (melody)"}, data["parts"]


def test_cli_generate_with_the_figaro_writer(tmp_path, capsys):
    assert main(["generate", "a reel in G major for fiddle, 8 bars", "-o", str(tmp_path), "--no-embeddings",
                 "--candidates", "2", "--writer", "figaro"]) == 0
    data = json.loads((tmp_path / f"{slug('a reel in G major for fiddle, 8 bars')}.json").read_text())
    assert "figaro model" in json.dumps(data["parts"]), data["parts"]


def test_cli_generate_arranger_only(tmp_path, capsys):
    assert main(["generate", "a reel in G major for fiddle, 8 bars", "-o", str(tmp_path), "--no-embeddings",
                 "--candidates", "1", "--arranger-only"]) == 0
    data = json.loads((tmp_path / f"{slug('a reel in G major for fiddle, 8 bars')}.json").read_text())
    assert "figaro model" not in json.dumps(data["parts"]) and data["fidelity"]["score"] >= 0.9


def test_cli_generate_bad_prompt(tmp_path, capsys):
    assert main(["generate", "", "-o", str(tmp_path)]) == 2
    assert "prompt is empty" in capsys.readouterr().err


def test_the_writer_follows_the_style_unless_a_model_or_writer_is_named():
    from partita.compose.text_to_midi import GenerateRequest, writer_for
    from partita.text.parse import parse_prompt

    jig = parse_prompt("a jig in D major for fiddle, 16 bars")
    hymn = parse_prompt("a hymn in F major for organ, 8 bars")
    ballad = parse_prompt("a ballad in B minor for cello and piano, 8 bars")
    assert writer_for(GenerateRequest(), jig, None) == "tune"
    assert writer_for(GenerateRequest(), hymn, None) == "chorale"
    assert writer_for(GenerateRequest(), ballad, None) == "figaro"
    assert writer_for(GenerateRequest(model="checkpoints/figaro"), jig, None) == "figaro"
    assert writer_for(GenerateRequest(model=None), jig, None) == "arranger"
    assert writer_for(GenerateRequest(writer="chorale"), jig, None) == "chorale"
    assert writer_for(GenerateRequest(), jig, object()) == "figaro"       # a description file's plan
    drums_alone = parse_prompt("a chorale in D minor for drums, 8 bars")
    assert writer_for(GenerateRequest(), drums_alone, None) == "figaro"   # no pitched voice to sing it


def test_a_chorale_with_drums_sings_on_the_pitched_instruments_and_keeps_the_drums():
    """The chorale writer once gave drums (program 128) a voice: pretty_midi's ValueError, an
    internal error of `partita generate "a chorale in D minor for rock band, 8 bars"`."""
    from partita.compose.text_to_midi import write_chorale_candidate
    from partita.text.parse import parse_prompt

    attrs = parse_prompt("a chorale in D minor for organ, trumpet and drums, 4 bars")
    candidate = write_chorale_candidate(attrs, seed=3)
    score, parts = candidate.arrangement.score, candidate.arrangement.parts
    drums = [t for t in score.tracks if t.is_drum]
    assert len(drums) == 1 and len(drums[0].notes) > 0 and parts["drums"] == "drums"
    pitched = [t for t in score.tracks if not t.is_drum]
    assert sorted(t.program for t in pitched) == [19, 56] and all(len(t.notes) for t in pitched)
    assert any("soprano" in role for role in parts.values())


def test_the_files_of_a_piece_are_written_as_a_set(tmp_path, monkeypatch):
    import pytest

    from partita import audio_render
    from partita.compose.text_to_midi import generate, write_generation

    gen = generate("a waltz in C major for piano, 4 bars", candidates=1, writer="arranger", use_embeddings=False)
    first = write_generation(gen, tmp_path, name="piece")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {"piece.mid", "piece.musicxml", "piece.json"}

    def broken(*args, **kwargs):
        raise RuntimeError("the synthesiser failed")

    monkeypatch.setattr(audio_render, "render_to_file", broken)
    with pytest.raises(RuntimeError):
        write_generation(generate("a march in G major for brass, 4 bars", candidates=1, writer="arranger",
                                  use_embeddings=False), tmp_path, name="piece", render=True)
    # nothing of the failed set arrived, the earlier set is whole, no staging folder is left
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert all(p.exists() for p in first.values())


def test_warm_up_loads_what_forked_candidates_share():
    from partita.compose import folk
    from partita.compose.text_to_midi import warm_up

    folk.abc_model.cache_clear()
    warm_up("figaro")
    assert folk.abc_model.cache_info().currsize == 0         # only what the writer needs
    warm_up("tune")
    assert folk.abc_model.cache_info().currsize == 1
