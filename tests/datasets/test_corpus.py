"""The offline corpus listings, splits, user collections and the cache."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from partita import datasets
from partita.errors import InputError, PartitaError
from partita.score import write


@pytest.fixture(scope="module")
def tunes():
    return list(datasets.abc_tunes())


def test_abc_tunes_lists_every_tune_of_the_corpus(tunes):
    assert len(tunes) == 12978
    assert len({t.id for t in tunes}) == len(tunes)
    counts = Counter(t.collection for t in tunes)
    assert counts["essenFolksong"] == 8514
    assert counts["oneills1850"] == 2009
    assert counts["airdsAirs"] == 1180
    assert counts["ryansMammoth"] == 1059


def test_abc_tunes_carry_header_metadata(tunes):
    assert all(t.meta.get("key") and t.meta.get("meter") for t in tunes)
    rhythms = Counter(t.meta.get("rhythm", "").lower() for t in tunes)
    assert rhythms["reel"] >= 700 and rhythms["jig"] >= 400
    assert sum(1 for t in tunes if t.title) > 12000


def test_abc_tune_loads(tunes):
    reel = next(t for t in tunes if t.meta.get("rhythm", "").lower() == "reel")
    score = reel.load()
    assert score.note_num() > 50


def test_chorales_and_classical():
    chorales = list(datasets.chorales())
    assert len(chorales) == 371
    classical = list(datasets.classical())
    collections = Counter(p.collection for p in classical)
    assert collections["palestrina"] > 1000 and collections["beethoven"] > 10 and collections["monteverdi"] > 40
    assert not {p.source for p in chorales} & {p.source for p in classical}


def test_splits_are_deterministic_and_proportioned(tunes):
    shares = Counter(t.split for t in tunes)
    assert 0.03 < shares["valid"] / len(tunes) < 0.07
    assert 0.03 < shares["test"] / len(tunes) < 0.07
    # a fixed identity has a fixed split on every machine and in every process (SHA-1, not
    # Python's salted hash): literal splits pinned once
    assert datasets.split_of("abc_tunes:oneills1850/0001-0050.abc#1.0") == "train"
    assert [datasets.split_of(f"piece{i}") for i in (0, 1, 10, 11, 17, 19)] == [
        "train", "train", "valid", "valid", "test", "valid"]


def test_build_load_and_stats_on_a_small_cache(tmp_path):
    report = datasets.build(["chorales", "abc_tunes"], cache_dir=tmp_path, limit=10, workers=2, progress=False)
    assert report.datasets["chorales"]["pieces"] == 10
    assert report.datasets["chorales"]["failed"] == 0
    pieces = list(datasets.load("chorales", cache_dir=tmp_path))
    assert len(pieces) == 10
    assert pieces[0].score().note_num() > 100
    stats = datasets.stats(tmp_path)
    assert stats["chorales"]["pieces"] == 371 and stats["chorales"]["parsed"] == 10
    assert stats["abc_tunes"]["parsed"] == 10 and stats["abc_tunes"]["notes"] > 0
    assert stats["classical"]["built"] is False
    assert sum(stats["chorales"]["meters"].values()) == 10


def test_load_of_an_unbuilt_dataset_says_how_to_build(tmp_path):
    with pytest.raises(PartitaError, match="partita data build"):
        list(datasets.load("classical", cache_dir=tmp_path))


def test_midi_folder_and_jsonl(tmp_path, small_score):
    (tmp_path / "lmd" / "a").mkdir(parents=True)
    write(small_score, tmp_path / "lmd" / "a" / "one.mid")
    write(small_score, tmp_path / "lmd" / "two.midi")
    (tmp_path / "lmd" / "notes.txt").write_text("not midi")
    pieces = list(datasets.midi_folder(tmp_path / "lmd"))
    assert [p.title for p in pieces] == ["one", "two"]
    assert pieces[0].load().note_num() == 27

    caps = tmp_path / "caps.jsonl"
    caps.write_text(json.dumps({"location": "lmd/two.midi", "caption": "A calm flute tune.",
                                "genre": ["folk"], "tempo": 90}) + "\n")
    (piece,) = datasets.jsonl_captions(caps)
    assert piece.meta["caption"] == "A calm flute tune."
    assert piece.meta["tempo"] == "90"
    assert piece.load().note_num() == 27

    report = datasets.build([], cache_dir=tmp_path / "c", progress=False,
                            sources={"midi_folder": lambda: datasets.midi_folder(tmp_path / "lmd")})
    assert report.datasets["midi_folder"]["pieces"] == 2


def test_bad_user_collections(tmp_path):
    with pytest.raises(InputError, match="not a folder"):
        list(datasets.midi_folder(tmp_path / "nope"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"caption": "x"}\n')
    with pytest.raises(InputError, match="line 1 needs"):
        list(datasets.jsonl_captions(bad))
    bad.write_text("{not json\n")
    with pytest.raises(InputError, match="line 1 is not JSON"):
        list(datasets.jsonl_captions(bad))


def test_a_cache_of_another_version_is_refused(tmp_path):
    import pyarrow.parquet as pq

    datasets.build(["chorales"], cache_dir=tmp_path, limit=2, workers=1, progress=False)
    path = datasets.cache_file("chorales", tmp_path)
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({"partita_cache_schema": "1"}), path)
    with pytest.raises(PartitaError, match="rebuild"):
        list(datasets.load("chorales", cache_dir=tmp_path))
