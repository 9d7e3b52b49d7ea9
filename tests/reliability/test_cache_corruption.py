"""A corrupt or half-written cache file is detected (parquet structure, page checksums, schema)
and rebuilt with a message, instead of a crash."""

from __future__ import annotations

import itertools

import pytest

from partita import datasets
from partita.datasets import cache
from partita.errors import PartitaError


@pytest.fixture
def two_chorales(monkeypatch):
    """The chorales dataset cut to its first two pieces, for builds and rebuilds alike."""
    from partita.datasets import corpus

    real = corpus.iter_dataset
    monkeypatch.setattr(corpus, "iter_dataset", lambda name: itertools.islice(real(name), 2))


def _damage_page(path) -> None:
    """Flip one byte in the middle of the values of the midi column."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    col = meta.row_group(0).column(names.index("midi"))
    # the values sit in the dictionary page (the data page holds indices and, in its header,
    # min/max statistics that no read uses and no checksum covers)
    assert col.has_dictionary_page
    at = (col.dictionary_page_offset + col.data_page_offset) // 2
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["cut-in-half", "page-flipped", "zero-bytes", "not-parquet"])
def test_a_corrupt_cache_is_rebuilt_with_a_message(tmp_path, capsys, two_chorales, damage):
    datasets.build(["chorales"], cache_dir=tmp_path, workers=1, progress=False)
    path = datasets.cache_file("chorales", tmp_path)
    good = [p.id for p in datasets.load("chorales", cache_dir=tmp_path)]
    assert len(good) == 2
    if damage == "cut-in-half":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "page-flipped":
        _damage_page(path)
    elif damage == "zero-bytes":
        path.write_bytes(b"")
    else:
        path.write_text("id,midi\n1,2\n")
    capsys.readouterr()
    if damage != "page-flipped":  # stats reads only the small columns; a damaged midi page shows when loaded
        assert datasets.stats(tmp_path, ["chorales"])["chorales"]["corrupt"]
    again = [p.id for p in datasets.load("chorales", cache_dir=tmp_path)]
    assert again == good
    err = capsys.readouterr().err
    assert f"partita: {path}: corrupt cache file (" in err and "rebuilding it" in err
    assert "corrupt" not in datasets.stats(tmp_path, ["chorales"])["chorales"]  # the new file reads


def test_a_corrupt_cache_of_a_users_folder_says_how_to_rebuild(tmp_path, small_score):
    from partita.score import write

    (tmp_path / "lmd").mkdir()
    write(small_score, tmp_path / "lmd" / "a.mid")
    datasets.build([], cache_dir=tmp_path / "c", progress=False,
                   sources={"midi_folder": lambda: datasets.midi_folder(tmp_path / "lmd")})
    path = datasets.cache_file("midi_folder", tmp_path / "c")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(PartitaError, match="corrupt cache file .*rebuild it with `partita data build`"):
        cache.read_cache("midi_folder", ["id"], cache_dir=tmp_path / "c")
