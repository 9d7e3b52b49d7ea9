"""DDSP performer: harmonic-plus-noise synthesis driven by a trained decoder."""
