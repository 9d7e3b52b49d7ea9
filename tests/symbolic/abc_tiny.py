"""A tune and tiny random ABC models built from the real classes, shared by the ABC tests."""

from __future__ import annotations

import torch

from partita.symbolic.abc.data import batch_for, encode_tunes
from partita.symbolic.abc.model import AbcModelConfig, BarPatchModel, CharModel, build

TUNE = """X:1
T:Test reel
M:4/4
L:1/8
R:reel
K:G
|:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|GABc dedB|dedB dedB|c2ec B2dB|A2F2 G4:|
|:g2gf gdBd|g2f2 e2d2|c2ec B2dB|c2A2 A2BA|g2gf gdBd|g2f2 e2d2|c2ec B2dB|A2F2 G4:|
"""

JIG = """X:2
T:Jig
M:6/8
L:1/8
R:jig
K:D
|:A|dfa afd|gbg fed|ceg fed|cBA A2:|
|:g|fef gfg|afd dfa|gbg fed|cBA A2:|
"""
"""A second tune (a jig), for the held-out split of tiny corpora."""

TINY = dict(d_model=32, patch_layers=1, char_layers=1, heads=2, max_patches=64, max_chars=512)
"""The sizes of a tiny model: one layer per decoder, width 32."""


def tiny(kind: str = "patch") -> BarPatchModel | CharModel:
    """A tiny model of ``kind`` with seeded random weights."""
    torch.manual_seed(0)
    return build(AbcModelConfig(kind=kind, **TINY))


def fit_one_tune(model: BarPatchModel | CharModel, steps: int) -> BarPatchModel | CharModel:
    """``model`` after ``steps`` Adam steps on :data:`TUNE` alone, in eval mode."""
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, m = batch_for(model.config, encode_tunes([TUNE]))
    for _ in range(steps):
        loss = model.loss(x, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()
