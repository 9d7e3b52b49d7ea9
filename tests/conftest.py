"""Shared fixtures: small scores built in code."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile

import pytest
from symusic import Note, Track

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# librosa compiles numba kernels into a cache when it is imported (Basic Pitch imports it). Two
# processes filling one cold cache at once can pair files written by different processes and
# segfault (numba/numba#10128): one cache per environment and per xdist worker. Assigned, not
# defaulted: the workers inherit the controller's environment, where this file ran first.
_ENV = hashlib.sha1(sys.prefix.encode()).hexdigest()[:10]
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["NUMBA_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), f"partita-numba-{_ENV}-{_WORKER}")
# Two xdist workers on two cores: one torch thread each (two each oversubscribe the cores; a
# 300-token sampling loop took 37 s with two threads beside the other worker, 2.4 s with one).
os.environ.setdefault("OMP_NUM_THREADS", "1")
# best-of-N writes candidates one after another in tests (xdist already uses both cores);
# tests/compose/test_rerank.py forks on purpose
os.environ.setdefault("PARTITA_WORKERS", "1")


@pytest.fixture
def small_score():
    """Three tracks at 90 qpm in 3/4, C minor: a flute line, a drum pattern, piano chords."""
    from partita.score import new_score

    score = new_score(qpm=90, meter=(3, 4), key=(-3, 1))
    flute = Track("flute", 73, False)
    for i, pitch in enumerate([60, 63, 65, 67, 68, 67, 65, 63, 60]):
        flute.notes.append(Note(i * 480, 480, pitch, 90))
    drums = Track("drums", 0, True)
    for i in range(9):
        drums.notes.append(Note(i * 480, 240, 36 if i % 3 == 0 else 42, 100))
    piano = Track("piano", 0, False)
    for bar in range(3):
        for pitch in (48, 55, 60):
            piano.notes.append(Note(bar * 1440, 1440, pitch, 70))
    score.tracks.extend([flute, drums, piano])
    return score


def notes_of(track):
    return sorted((n.time, n.duration, n.pitch) for n in track.notes)
