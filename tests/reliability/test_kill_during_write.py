"""Nothing lost: a process killed (SIGKILL) at several moments while it writes leaves the old
file intact or the new one complete, never a truncated one. A child process rewrites the same
output in a loop, each version complete and different; the test kills it at several delays
after it starts writing and reads back what is on disk, and reads the output again and again
while the writer runs (an atomic writer never shows a half-written file even then)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DELAYS = (0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)

# Each writer: code that defines write(dest, version) for the child, and a check of the file.
SETUP = {
    "midi": """
from symusic import Note, Score, Tempo, Track
def write(dest, version):
    from partita.score import write as write_score
    s = Score(480); s.tempos.append(Tempo(0, qpm=120.0))
    t = Track("piano", 0, False)
    t.notes.extend([Note(i * 60, 60, 40 + i % 40, 1 + version % 126) for i in range(20000)])
    s.tracks.append(t)
    write_score(s, dest)
""",
    "musicxml": """
def write(dest, version):
    from partita.score import abc_to_score, write as write_score
    write_score(abc_to_score("X:1\\nT:t\\nM:4/4\\nL:1/8\\nK:D\\n" + "DEFG ABcd|" * 40 + "\\n"), dest)
""",
    "json": """
import json
def write(dest, version):
    from partita.fileio import atomic_path
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps({"version": version, "rows": list(range(200000)), "complete": True}))
""",
    "wav": """
from symusic import Note, Score, Tempo, Track
def write(dest, version):
    from partita.audio_render import render_to_file
    s = Score(480); s.tempos.append(Tempo(0, qpm=240.0))
    t = Track("piano", 0, False)
    t.notes.extend([Note(i * 240, 240, 60 + i % 12, 90) for i in range(16)])
    s.tracks.append(t)
    render_to_file(s, dest, sample_rate=22050, humanize=0, seed=version)
""",
    "checkpoint": """
import torch
def write(dest, version):
    from partita.training import save_state
    torch.manual_seed(version)
    model = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.Linear(256, 256))
    save_state(model, dest, "config.json", {"version": version, "layers": [256] * 200000})
""",
    "cache": """
def write(dest, version):
    from pathlib import Path
    from partita.datasets.cache import build_pieces
    from partita.datasets.user import midi_folder
    build_pieces(list(midi_folder(Path(dest).parents[2] / "midis")), Path(dest), workers=1, progress=False)
""",
}


def _check(kind: str, dest: Path) -> str:
    """'' when the output on disk is complete, else what is wrong."""
    try:
        if kind == "midi":
            from symusic import Score

            n = Score(str(dest)).note_num()
            return "" if n == 20000 else f"{n} notes"
        if kind == "musicxml":
            import partita

            n = partita.read(dest).note_num()
            return "" if n == 320 else f"{n} notes"
        if kind == "json":
            import json

            data = json.loads(dest.read_text())
            return "" if data["complete"] and len(data["rows"]) == 200000 else "rows missing"
        if kind == "wav":
            import soundfile

            audio, sr = soundfile.read(str(dest))
            return "" if sr == 22050 and len(audio) > 22050 else f"{len(audio)} samples"
        if kind == "checkpoint":
            import json

            from safetensors.torch import load_file

            state = load_file(str(dest / "model.safetensors"))
            config = json.loads((dest / "config.json").read_text())
            return "" if len(state) == 4 and len(config["layers"]) == 200000 else "incomplete"
        if kind == "cache":
            import pyarrow.parquet as pq

            rows = pq.read_table(dest).num_rows
            return "" if rows == 3 else f"{rows} rows"
    except Exception as exc:  # noqa: BLE001 - anything unreadable is the failure we look for
        return f"{type(exc).__name__}: {exc}"[:200]
    raise ValueError(kind)


CHILD = """
import itertools, sys
from pathlib import Path
kind, dest, ready = sys.argv[1], sys.argv[2], Path(sys.argv[3])
{setup}
write(dest, 0)  # imports and first write done before the clock starts
ready.touch()
for version in itertools.count(1):
    write(dest, version)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(SETUP))
def test_a_kill_during_a_write_leaves_a_complete_file(kind, tmp_path):
    if kind == "cache":
        from symusic import Note, Score, Tempo, Track

        (tmp_path / "midis").mkdir()
        for k in range(3):
            s = Score(480)
            s.tempos.append(Tempo(0, qpm=100.0))
            t = Track("p", 0, False)
            t.notes.extend([Note(i * 240, 240, 60 + (i + k) % 12, 80) for i in range(200)])
            s.tracks.append(t)
            s.dump_midi(str(tmp_path / "midis" / f"{k}.mid"))
    suffix = {"midi": "out.mid", "musicxml": "out.musicxml", "json": "out.json", "wav": "out.wav",
              "checkpoint": "ckpt", "cache": "cache/corpus.parquet"}[kind]
    dest = tmp_path / "out" / suffix
    dest.parent.mkdir(parents=True, exist_ok=True)
    code = CHILD.format(setup=SETUP[kind])
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    problems = []
    for delay in (*DELAYS, "reader"):
        ready = tmp_path / f"ready-{delay}"
        child = subprocess.Popen([sys.executable, "-c", code, kind, str(dest), str(ready)], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        start = time.monotonic()
        while not ready.exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() - start < 120, "the writer never got going"
            time.sleep(0.01)
        if delay == "reader":  # a reader beside the writer must never see a half-written file either
            seen, began = 0, time.monotonic()
            while time.monotonic() - began < 3 and seen < 200:
                problem = _check(kind, dest)
                seen += 1
                if problem:
                    problems.append(f"read while the writer was writing: {problem}")
                    break
        else:
            time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stderr.close()
        problem = _check(kind, dest)
        if problem:
            problems.append(f"killed {delay} s after the first write: {problem}")
    assert not problems, "\n".join(problems)
