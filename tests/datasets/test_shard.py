"""Token shards: building them from a MIDI/ABC folder, resuming, and reading them by rank."""

from __future__ import annotations

import json
import random

import pyarrow.parquet as pq
import pytest
from symusic import Note, Score, Tempo, Track

from partita.cli import main
from partita.datasets import shard as S
from partita.datasets.pieces import split_of
from partita.datasets.stream import Batches, ShardStream, assign, read_split
from partita.errors import PartitaError

REEL = """X:1
T:First reel
M:4/4
L:1/8
R:reel
K:G
|:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA:|
"""
HORNPIPE = """X:2
T:A hornpipe
M:4/4
L:1/8
R:hornpipe
K:D
|:(3ABc|dAFA DFAd|fdcd B2AG|FAdA FAdf|ecAG FDD:|
"""


def _piece(seed: int, notes: int) -> Score:
    score = Score(480)
    score.tempos.append(Tempo(0, 120.0))
    track = Track("piano", 0, False)
    rng = random.Random(seed)
    for j in range(notes):
        track.notes.append(Note(j * 240, 240, rng.randint(55, 80), 80))
    score.tracks.append(track)
    return score


def write_midi_folder(root, count: int = 30) -> None:
    """``count`` small one-track MIDI files under ``root`` (two in three in ``root/sub``)."""
    (root / "sub").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        _piece(i, 12 + i).dump_midi(str(root / ("sub" if i % 3 else "") / f"p{i:02d}.mid"))


@pytest.fixture
def folder(tmp_path):
    """30 small MIDI files (some in a sub-folder), a corrupt one, an empty one, an ABC file of two tunes."""
    root = tmp_path / "music"
    write_midi_folder(root)
    (root / "broken.mid").write_bytes(b"MThd not really")
    empty = Score(480)
    empty.tracks.append(Track("e", 0, False))
    empty.dump_midi(str(root / "empty.mid"))
    (root / "tunes.abc").write_text(REEL + "\n" + HORNPIPE)
    return root


def _ids(out, split=None):
    rows = []
    for path in sorted(out.glob("*.parquet")):
        rows += pq.read_table(path, columns=["id", "split"]).to_pylist()
    return [r["id"] for r in rows if split is None or r["split"] == split]


def test_a_midi_folder_becomes_shards_with_a_manifest(folder, tmp_path):
    out = tmp_path / "shards"
    report = S.shard(folder, out, tokenizer="remi", shards=4, workers=1, progress=False, max_tokens=200)
    m = json.loads((out / "manifest.json").read_text())
    reasons = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in m["skipped"]}
    assert reasons["broken.mid"].startswith("corrupt") and reasons["empty.mid"] == "no notes"
    # the longest pieces pass 200 REMI tokens: skipped as too long, and said so
    long = [r for r in reasons.values() if r.startswith("too long")]
    assert long and m["pieces"] + len(m["skipped"]) == 34
    assert m["pieces"] == sum(m["splits"][s]["pieces"] for s in ("train", "valid", "test"))
    assert [s["file"] for s in m["splits"]["train"]["shards"]] == [f"train-0000{i}-of-00004.parquet" for i in range(4)]
    assert m["tokenizer"]["name"] == "remi" and len(m["tokenizer"]["hash"]) == 16 and "sha1" in m["split_rule"]
    assert m["world_sizes"] == [2, 4] and report.notes and "8" in report.notes[0]
    rows = [r for p in sorted(out.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert all(r["split"] == split_of(r["id"]) for r in rows)
    assert all(p.name.startswith(r["split"]) for p in out.glob("*.parquet") for r in pq.read_table(p).to_pylist())
    # the tokens are the project's REMI tokenizer's, BOS ... EOS
    from partita.tokenizers.remi import RemiTokenizer

    tok = RemiTokenizer()
    row = next(r for r in rows if r["id"].endswith("/p00.mid"))
    assert row["tokens"] == tok.encode(Score(str(folder / "p00.mid")), add_special=True)
    assert row["n_tokens"] == len(row["tokens"])
    assert (out / "remi_miditok.json").exists()  # the tokenizer travels with the shards


def test_the_shuffle_is_global_and_deterministic(folder, tmp_path):
    S.shard(folder, tmp_path / "a", shards=2, workers=1, progress=False)
    S.shard(folder, tmp_path / "b", shards=2, workers=1, progress=False)
    S.shard(folder, tmp_path / "c", shards=2, workers=1, progress=False, seed=1)
    a, b, c = _ids(tmp_path / "a", "train"), _ids(tmp_path / "b", "train"), _ids(tmp_path / "c", "train")
    assert a == b and sorted(a) == sorted(c) and a != c
    first = pq.read_table(tmp_path / "a" / "train-00000-of-00002.parquet").column("id").to_pylist()
    assert first != sorted(first)  # not the listing's order
    # shard i holds the pieces at positions i, i + N, ... of the shuffled order (less the skipped)
    _, items, _ = S.pieces_of(folder, "remi")
    order = sorted((it.id for it in items if split_of(it.id) == "train"), key=lambda i: S.shuffle_key(0, i))
    assert [i for i in order[0::2] if i in set(a)] == first


def test_a_killed_run_resumes_with_the_shards_it_lacks(folder, tmp_path, monkeypatch):
    out = tmp_path / "shards"
    real = S._write_shard
    calls = []

    def dies_on_the_third(path, rows, info):  # noqa: ANN001, ANN202
        calls.append(path.name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real(path, rows, info)

    monkeypatch.setattr(S, "_write_shard", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        S.shard(folder, out, shards=4, workers=1, progress=False)
    assert len(list(out.glob("*.parquet"))) == 2 and not list(out.glob(".*"))  # no torn file left
    assert not (out / "manifest.json").exists()
    monkeypatch.setattr(S, "_write_shard", real)
    report = S.shard(folder, out, shards=4, workers=1, progress=False)
    assert report.reused == 2 and report.written == 4
    whole = S.shard(folder, tmp_path / "whole", shards=4, workers=1, progress=False)
    assert _ids(out) == _ids(tmp_path / "whole") and whole.manifest["pieces"] == report.manifest["pieces"]
    # another shard count: the old layout's files go
    S.shard(folder, out, shards=2, workers=1, progress=False)
    assert sorted(p.name for p in out.glob("train-*")) == ["train-00000-of-00002.parquet",
                                                           "train-00001-of-00002.parquet"]


def test_abc_tokenizer_reads_the_abc_tunes_and_skips_midi(folder, tmp_path):
    report = S.shard(folder, tmp_path / "abc", tokenizer="abc", shards=1, workers=1, progress=False)
    m = report.manifest
    assert m["pieces"] == 2
    assert sum(s["reason"].startswith("the abc tokenizer reads ABC") for s in m["skipped"]) == 32
    from partita.tokenizers.abc import AbcTokenizer

    rows = [r for p in (tmp_path / "abc").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    hornpipe = next(r for r in rows if json.loads(r["meta"]).get("rhythm") == "hornpipe")
    assert "|:(3ABc|dAFA DFAd|" in AbcTokenizer().decode(AbcTokenizer().unflatten(hornpipe["tokens"]))


def test_captions_come_from_a_caption_file(folder, tmp_path):
    lines = [{"location": f"p{i:02d}.mid", "caption": f"a short piano piece number {i}", "genre": ["pop"]}
             for i in range(0, 30, 3)]
    captions = folder / "captions.jsonl"
    captions.write_text("\n".join(json.dumps(x) for x in lines))
    S.shard(captions, tmp_path / "caps", shards=1, workers=1, progress=False)
    rows = [r for p in (tmp_path / "caps").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    assert len(rows) == 10 and all(r["caption"].startswith("a short piano piece") for r in rows)
    assert all("caption" not in json.loads(r["meta"]) for r in rows)


def test_bad_sources_are_one_line_errors(tmp_path, capsys):
    assert main(["data", "shard", str(tmp_path / "missing"), "-o", str(tmp_path / "o"), "--quiet"]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["data", "shard", str(tmp_path / "empty"), "-o", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "no MIDI" in err
    with pytest.raises(PartitaError, match="at least 1"):
        S.shard(tmp_path, tmp_path / "o", shards=0)


def test_cli_data_shard(folder, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["data", "shard", str(folder), "-o", str(out), "--shards", "8", "--workers", "1", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "32 pieces" in captured.out and "2 skipped" in captured.out and "note" not in captured.err
    assert main(["data", "shard", str(folder), "-o", str(out), "--tokenizer", "anticipation", "--quiet"]) == 2
    assert "holds shards of tokenizer remi" in capsys.readouterr().err


def test_world_size_note():
    assert S.world_size_note(16) is None and S.world_size_note(8) is None
    assert "4, 8" in S.world_size_note(6) and "(e.g. 8)" in S.world_size_note(6)


# ---- reading ----

def test_assign_deals_files_to_readers_or_falls_back_to_rows():
    assert assign(8, 4, 1) == ([1, 5], 1, 0)
    assert assign(3, 4, 3) == ([0, 1, 2], 4, 3)


@pytest.fixture
def shards(folder, tmp_path):
    out = tmp_path / "shards"
    S.shard(folder, out, shards=4, workers=1, progress=False)
    return out


def test_each_rank_reads_its_own_files_and_a_disjoint_set_of_pieces(shards):
    streams = [ShardStream(shards, "train", rank=r, world_size=2, seed=0) for r in range(2)]
    seen = [[row["id"] for row in s] for s in streams]
    assert set(seen[0]).isdisjoint(seen[1])
    assert sorted(seen[0] + seen[1]) == sorted(_ids(shards, "train"))
    assert set(streams[0].files_opened).isdisjoint(streams[1].files_opened)
    assert len(streams[0].files_opened) == 2


def test_dataloader_workers_split_a_rank_without_overlap(shards):
    import torch

    seen = []
    for rank in range(2):
        stream = ShardStream(shards, "train", rank=rank, world_size=2, seed=0)
        loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2)
        seen.append([row["id"] for row in loader])
    flat = seen[0] + seen[1]
    assert len(flat) == len(set(flat)) == len(_ids(shards, "train"))


def test_fewer_files_than_readers_split_rows(shards):
    streams = [ShardStream(shards, "valid", rank=r, world_size=2, seed=0) for r in range(2)]
    seen = [[row["id"] for row in s] for s in streams]
    assert set(seen[0]).isdisjoint(seen[1]) and sorted(seen[0] + seen[1]) == sorted(_ids(shards, "valid"))


def test_batches_resume_where_the_stream_was(shards):
    stream = ShardStream(shards, "train", rank=0, world_size=1, seed=0, epochs=None)
    whole = Batches(stream, 3, lambda rows: [r["id"] for r in rows])
    first = [whole(i) for i in range(5)]
    resumed = Batches(stream, 3, lambda rows: [r["id"] for r in rows])
    assert resumed(3) == first[3] and resumed(4) == first[4]
    assert len(read_split(shards, "train")) == len(_ids(shards, "train"))
    with pytest.raises(PartitaError, match="rank 2"):
        ShardStream(shards, "train", rank=2, world_size=2)


@pytest.mark.slow
def test_a_worker_pool_writes_what_one_process_writes(folder, tmp_path):
    S.shard(folder, tmp_path / "one", shards=2, workers=1, progress=False)
    S.shard(folder, tmp_path / "two", shards=2, workers=2, progress=False)
    for path in sorted((tmp_path / "one").glob("*.parquet")):
        assert pq.read_table(path).equals(pq.read_table(tmp_path / "two" / path.name))


def test_the_corpus_source_reads_the_cache_and_the_abc_tunes(tmp_path, monkeypatch):
    from partita.datasets import cache

    monkeypatch.setenv("PARTITA_CACHE", str(tmp_path / "cache"))
    with pytest.raises(PartitaError, match="partita data build"):
        S.shard("corpus:chorales", tmp_path / "none", shards=1, workers=1, progress=False)
    ok = Score(480)
    ok.tracks.append(Track("s", 0, False))
    ok.tracks[0].notes.append(Note(0, 480, 60, 80))
    pieces = [cache.Piece(id=f"chorales:x{i}", dataset="chorales", collection="bach", source=f"/x{i}.mid")
              for i in range(3)]
    monkeypatch.setattr(cache.Piece, "load", lambda self: ok if self.id != "chorales:x2" else Score(480))
    cache.build_pieces(pieces, cache.cache_file("chorales"), workers=1, progress=False)
    report = S.shard("corpus:chorales", tmp_path / "ch", tokenizer="anticipation", shards=1, workers=1,
                     progress=False)
    assert report.manifest["pieces"] == 2 and report.manifest["source_kind"] == "corpus"
    assert report.manifest["skipped"] == [{"path": "/x2.mid", "reason": "corrupt: no notes"}]
    with pytest.raises(PartitaError, match="corpus:abc_tunes"):
        S.shard("corpus:chorales", tmp_path / "abc", tokenizer="abc", shards=1, progress=False)
