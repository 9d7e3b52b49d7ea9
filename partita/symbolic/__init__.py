"""Symbolic transformers (anticipatory, theme, FIGARO-style, ABC), sampling and training."""
