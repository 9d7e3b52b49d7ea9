"""The corpus build: the fast Humdrum reader against music21, and pieces never parsed twice."""

from __future__ import annotations

import pytest

from partita import datasets
from partita.datasets import cache
from partita.datasets.kern import read_kern
from partita.score import write


def _content(score):
    return ([(t.name, t.program, t.is_drum, [(n.time, n.duration, n.pitch, n.velocity) for n in t.notes])
             for t in score.tracks],
            [(x.time, x.numerator, x.denominator) for x in score.time_signatures],
            [(x.time, x.key, x.tonality) for x in score.key_signatures],
            [(x.time, x.qpm) for x in score.tempos], score.ticks_per_quarter)


def _music21(path):
    from music21 import converter

    from partita.score import from_music21

    return from_music21(converter.parse(path, forceSource=True, storePickle=False))


@pytest.fixture(scope="module")
def palestrina():
    return [p for p in datasets.classical() if p.collection == "palestrina"]


@pytest.mark.parametrize("name", ["Agnus_01.krn", "Sanctus_15_a.krn", "Kyrie_04.krn"])
def test_kern_reader_gives_music21s_score(palestrina, name):
    piece = next(p for p in palestrina if p.source.endswith("/" + name))
    fast = read_kern(piece.source)
    assert fast is not None
    assert _content(fast) == _content(_music21(piece.source))
    assert piece.load().note_num() == fast.note_num()


KERN = """!!!OTL: test
**kern\t**kern
*Ibass\t*Icant
*k[f#]\t*k[f#]
*M3/4\t*M3/4
=1\t=1
4G\t[2.dd
4A\t.
4B\t.
=2\t=2
2.c#\t4dd]
.\t3ee-
.\t3ff
.\t3gg
*M2/4\t*M2/4
=3\t=3
2r\t8.a_
.\t16b
.\t4cc]
==\t==
*-\t*-
"""


def test_kern_reader_on_ties_dots_triplets_and_a_meter_change(tmp_path):
    path = tmp_path / "t.krn"
    path.write_text(KERN)
    fast = read_kern(path)
    assert fast is not None
    assert _content(fast) == _content(_music21(path))
    assert [t.name for t in fast.tracks] == ["Soprano", "Bass"]  # music21's order: last spine first
    assert [(x.numerator, x.denominator) for x in fast.time_signatures] == [(3, 4), (2, 4)]


@pytest.mark.parametrize("change", ["*^\t*", "4c 4e\t4g", "*MM120\t*", "*C:\t*", "4q\t4c", "*Iflt\t*"])
def test_kern_reader_leaves_what_it_does_not_read_to_music21(tmp_path, change):
    path = tmp_path / "t.krn"
    path.write_text(KERN.replace("=1\t=1\n", f"=1\t=1\n{change}\n", 1))
    assert read_kern(path) is None


def test_a_rebuild_parses_only_what_changed(tmp_path, small_score):
    folder = tmp_path / "midis"
    folder.mkdir()
    write(small_score, folder / "a.mid")
    write(small_score, folder / "b.mid")
    sources = {"midi_folder": lambda: datasets.midi_folder(folder)}
    first = cache.build([], cache_dir=tmp_path / "c", progress=False, sources=sources, workers=1)
    assert first.datasets["midi_folder"]["reused"] == 0
    before = cache.read_cache("midi_folder", ["id", "midi", "notes"], cache_dir=tmp_path / "c").to_pylist()

    again = cache.build([], cache_dir=tmp_path / "c", progress=False, sources=sources, workers=1)
    assert again.datasets["midi_folder"]["reused"] == 2
    assert cache.read_cache("midi_folder", ["id", "midi", "notes"], cache_dir=tmp_path / "c").to_pylist() == before

    small_score.tracks[0].notes.pop()
    write(small_score, folder / "b.mid")
    third = cache.build([], cache_dir=tmp_path / "c", progress=False, sources=sources, workers=1)
    assert third.datasets["midi_folder"]["reused"] == 1
    rows = cache.read_cache("midi_folder", ["id", "notes"], cache_dir=tmp_path / "c").to_pylist()
    assert [r["notes"] for r in rows] == [before[0]["notes"], before[1]["notes"] - 1]


def test_one_pool_builds_several_datasets_in_listing_order(tmp_path):
    report = cache.build(["chorales", "classical"], cache_dir=tmp_path, limit=6, workers=2, progress=False)
    assert {n: d["pieces"] for n, d in report.datasets.items()} == {"chorales": 6, "classical": 6}
    for name in ("chorales", "classical"):
        ids = [r["id"] for r in cache.read_cache(name, ["id"], cache_dir=tmp_path).to_pylist()]
        assert ids == [p.id for p in datasets.iter_dataset(name)][:6]


def test_a_cache_written_before_digests_is_read_and_parsed_again_when_rebuilt(tmp_path, small_score):
    import pyarrow.parquet as pq

    write(small_score, tmp_path / "midis" / "a.mid")
    sources = {"midi_folder": lambda: datasets.midi_folder(tmp_path / "midis")}
    cache.build([], cache_dir=tmp_path / "c", progress=False, sources=sources, workers=1)
    path = cache.cache_file("midi_folder", tmp_path / "c")
    table = pq.read_table(path)
    pq.write_table(table.drop(["digest"]).replace_schema_metadata(table.schema.metadata), path)

    assert [p.score().note_num() for p in datasets.load("midi_folder", cache_dir=tmp_path / "c")] == [27]
    again = cache.build([], cache_dir=tmp_path / "c", progress=False, sources=sources, workers=1)
    assert again.datasets["midi_folder"]["reused"] == 0
    assert pq.read_table(path, columns=["digest"]).column("digest").to_pylist()[0]
