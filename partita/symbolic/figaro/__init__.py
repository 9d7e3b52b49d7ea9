"""FIGARO-style description-to-REMI: the model (model.py), its training sequences (data.py), plan-forced sampling (sample.py), training (train.py)."""
