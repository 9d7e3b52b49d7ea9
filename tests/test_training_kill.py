"""Nothing lost in training (issue 18): a run killed (SIGKILL) while :func:`partita.training.fit`
writes its training state leaves the state folder pointing at a complete state, the old one or
the new one, never a torn one; a run resumed from it ends with the very weights and losses of
an uninterrupted run (the same batches in the same order, the same dropout draws, the same
optimiser moments).

Each run is a child process training a tiny model on tiny synthetic data. The child's own
code (not partita's) pauses at a chosen point of the save of step 4, after writing a marker
file; the test then kills it, so that the kill lands at that point every time:

- ``files``: the new state's weights are written, its optimiser and random states not yet;
- ``pointer``: the new state folder is complete, the pointer to it not yet replaced;
- ``cleanup``: the pointer names the new state, the old folder is not yet removed.

The same for ``partita train abc ... --resume``, whose checkpoint folder keeps fit's state of
its step (``fit-state/step-N``, named by ``training.json``, which is written last). Every test
starts three Python processes (10-30 s): all are marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STEPS, SAVE_EVERY, KILL_AT = 8, 2, 4

CHILD = r'''
import json, os, sys, time
from pathlib import Path
import numpy as np
import torch
torch.set_num_threads(1)
import partita.training as TR

state_dir, out, metrics, stage, marker = sys.argv[1:6]
STEPS, SAVE_EVERY, KILL_AT = (int(x) for x in sys.argv[6:9])

def pause(where):
    Path(marker).write_text(where)
    while True:
        time.sleep(60)

if stage != "none":
    real_save_state, target = TR._save_fit_state, {"on": False}

    def save_state(accelerator, folder, step, record):
        target["on"] = step == KILL_AT
        if target["on"] and stage == "before":
            pause(stage)
        real_save_state(accelerator, folder, step, record)

    TR._save_fit_state = save_state
    if stage == "files":
        import accelerate.checkpointing as C
        real = C.save

        def save(obj, f, *a, **k):
            real(obj, f, *a, **k)
            if target["on"] and str(f).endswith(".safetensors"):
                pause(stage)

        C.save = save
    elif stage == "pointer":
        import partita.fileio as F
        real_atomic = F.atomic_path

        def atomic_path(dest, *a, **k):
            if target["on"] and Path(dest).name == TR.STATE_FILE:
                pause(stage)
            return real_atomic(dest, *a, **k)

        F.atomic_path = atomic_path
    elif stage == "cleanup":
        import shutil
        real_rmtree = shutil.rmtree

        def rmtree(path, *a, **k):
            if target["on"]:
                pause(stage)
            return real_rmtree(path, *a, **k)

        shutil.rmtree = rmtree


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(6, 16)
        self.drop = torch.nn.Dropout(0.3)          # draws from torch's generator every step
        self.b = torch.nn.Linear(16, 1)

    def forward(self, x):
        return self.b(self.drop(torch.tanh(self.a(x)))).squeeze(-1)


torch.manual_seed(0)
model = Tiny()
data = torch.randn(64, 6, generator=torch.Generator().manual_seed(1))
target_y = data.sum(1) + 0.1 * torch.randn(64, generator=torch.Generator().manual_seed(2))

def next_batch(index):
    rows = torch.from_numpy(np.random.choice(64, size=8))  # the data order: numpy's generator
    return data[rows], target_y[rows]

config = TR.FitConfig(steps=STEPS, lr=1e-2, warmup=2, log_every=1, save_every=SAVE_EVERY, progress=False,
                      state_dir=state_dir, metrics=metrics, cpu=True)
record = TR.fit(model, next_batch, lambda m, b: torch.nn.functional.mse_loss(m(b[0]), b[1]), config)
torch.save({k: v.clone() for k, v in model.state_dict().items()}, out)
Path(out + ".json").write_text(json.dumps(record))
'''


def _child(state_dir: Path, out: Path, metrics: Path, stage: str = "none", marker: Path | None = None,
           seed: int = 0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    args = [str(state_dir), str(out), str(metrics), stage, str(marker or out.with_suffix(".marker")),
            str(STEPS), str(SAVE_EVERY), str(KILL_AT)]
    return subprocess.Popen([sys.executable, "-c", f"import numpy; numpy.random.seed({seed})\n" + CHILD, *args],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]


def _exact_losses(metrics: Path) -> dict[int, float]:
    return {r["step"]: r["loss_exact"] for r in map(json.loads, metrics.read_text().splitlines())
            if "loss_exact" in r}


def _check_state_folder(state_dir: Path) -> int:
    """The step of the complete state the pointer names (every file of it there and loadable)."""
    import torch
    from safetensors.torch import load_file

    from partita.training import STATE_FILE

    pointer = json.loads((state_dir / STATE_FILE).read_text())
    folder = state_dir / pointer["folder"]
    assert folder.is_dir(), pointer
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "optimizer.bin", "random_states_0.pkl"} <= names, names
    load_file(str(folder / "model.safetensors"))
    opt = torch.load(folder / "optimizer.bin", weights_only=False)
    assert opt["state"], "an optimiser state without moments"
    assert pointer["record"]["steps"] == pointer["step"]
    return pointer["step"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    d = tmp_path_factory.mktemp("whole")
    _finish(_child(d / "state", d / "weights.pt", d / "metrics.jsonl"))
    return d


def _kill_when_paused(proc: subprocess.Popen, marker: Path) -> None:
    """SIGKILL ``proc`` once it has written ``marker`` (it then waits at the chosen point of a save)."""
    t0 = time.monotonic()
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() - t0 < 120, "the child never reached the save"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()


def _kill_resume_and_compare(tmp_path: Path, whole: Path, stage: str, expected_step: int) -> None:
    import torch

    marker = tmp_path / "marker"
    _kill_when_paused(_child(tmp_path / "state", tmp_path / "weights.pt", tmp_path / "killed.jsonl", stage, marker),
                      marker)
    assert _check_state_folder(tmp_path / "state") == expected_step   # the old state, or the new one
    # resumed with another seed for numpy: the data order must come from the saved state
    killed = _exact_losses(tmp_path / "killed.jsonl")
    assert max(killed) >= expected_step                    # the killed run had logged these steps
    _finish(_child(tmp_path / "state", tmp_path / "weights.pt", tmp_path / "killed.jsonl", seed=99))
    # the metrics file: the killed run's lines past the resumed step dropped, the resumed run's
    # appended; it reads as the uninterrupted run's, step by step and loss by loss
    lines = [json.loads(line) for line in (tmp_path / "killed.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == list(range(1, STEPS + 1))
    assert _exact_losses(tmp_path / "killed.jsonl") == _exact_losses(whole / "metrics.jsonl")
    def log(folder: Path) -> list[tuple[int, float]]:
        return [(e["step"], e["loss"]) for e in json.loads((folder / "weights.pt.json").read_text())["log"]]

    assert log(tmp_path) == log(whole) and len(log(whole)) == STEPS   # the record: steps 1-8, both parts
    a, b = torch.load(tmp_path / "weights.pt"), torch.load(whole / "weights.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    left = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert left == ["fit_state.json", f"step-{STEPS:08d}"], left   # nothing torn left behind


@pytest.mark.slow
def test_a_run_killed_while_its_state_folder_is_written_resumes_as_if_never_killed(tmp_path, uninterrupted):
    _kill_resume_and_compare(tmp_path, uninterrupted, "files", KILL_AT - SAVE_EVERY)


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "step"), [("before", KILL_AT - SAVE_EVERY), ("pointer", KILL_AT - SAVE_EVERY),
                                             ("cleanup", KILL_AT)])
def test_a_run_killed_at_other_moments_of_a_save_resumes_as_if_never_killed(tmp_path, uninterrupted, stage, step):
    _kill_resume_and_compare(tmp_path, uninterrupted, stage, step)


# --------------------------------------------------------------------------- the CLI: partita train abc --resume

CLI_CHILD = r'''
import sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
import partita.training as TR
from partita.cli import main
from partita.symbolic.abc import train as ABC
from tests.symbolic.abc_tiny import JIG, TUNE

ABC.corpus_tunes = lambda split, limit=None: [TUNE, JIG] if split == "train" else [JIG]
marker, stage, kill_at, *argv = sys.argv[1:]

def pause():
    Path(marker).write_text(stage)
    while True:
        time.sleep(60)

if stage == "record":          # the state and the weights of the new step written, its record not yet
    import partita.fileio as F
    real_atomic = F.atomic_path

    def atomic_path(dest, *a, **k):
        if TR._SAVING.get("step") == int(kill_at) and Path(dest).name == "training.json":
            pause()
        return real_atomic(dest, *a, **k)

    F.atomic_path = atomic_path
elif stage == "files":         # half of the new state written
    import accelerate.checkpointing as C
    real = C.save

    def save(obj, f, *a, **k):
        real(obj, f, *a, **k)
        if TR._SAVING.get("step") == int(kill_at) and str(f).endswith(".safetensors"):
            pause()

    C.save = save
sys.exit(main(argv))
'''

def _cli(out: Path, stage: str = "none", *more: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    argv = ["train", "abc", "-o", str(out), "--width", "32", "--patch-layers", "1", "--char-layers", "1",
            "--heads", "2", "--steps", str(STEPS), "--batch-size", "2", "--save-every", str(SAVE_EVERY),
            "--eval-every", "100", "--warmup", "2", "--precision", "no", "--quiet", "--seed", "3", *more]
    return subprocess.Popen([sys.executable, "-c", CLI_CHILD, str(out) + ".marker", stage, str(KILL_AT), *argv],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["record", "files"])
def test_partita_train_abc_killed_during_a_save_resumes_as_if_never_killed(tmp_path, stage):
    """`partita train abc ... --resume` after a SIGKILL in the middle of a checkpoint save: the
    record (training.json, written last) names the complete state of its own step, and the
    resumed run ends with the weights and held-out loss of an uninterrupted run."""
    from safetensors.torch import load_file

    from partita.training import RESUME_KEY

    _finish(_cli(tmp_path / "whole"))
    whole = json.loads((tmp_path / "whole" / "training.json").read_text())
    assert whole["steps"] == STEPS and RESUME_KEY not in whole            # the end keeps no state
    assert not (tmp_path / "whole" / "fit-state").exists()
    out = tmp_path / "parts"
    _kill_when_paused(_cli(out, stage), Path(str(out) + ".marker"))
    record = json.loads((out / "training.json").read_text())
    old = KILL_AT - SAVE_EVERY
    assert record["steps"] == old and Path(record[RESUME_KEY]).name == f"step-{old:08d}"
    assert _check_state_folder_files(Path(record[RESUME_KEY]))
    load_file(str(out / "model.safetensors"))                           # complete (old or new weights)
    _finish(_cli(out, "none", "--resume"))
    resumed = json.loads((out / "training.json").read_text())
    assert resumed["steps"] == STEPS and resumed["heldout"] == whole["heldout"]
    a, b = load_file(str(out / "model.safetensors")), load_file(str(tmp_path / "whole" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch_equal(a[k], b[k]) for k in a)
    assert not (out / "fit-state").exists()


def _check_state_folder_files(folder: Path) -> bool:
    names = {p.name for p in folder.iterdir()}
    return {"model.safetensors", "optimizer.bin", "random_states_0.pkl"} <= names


def torch_equal(a, b) -> bool:  # noqa: ANN001
    import torch

    return torch.equal(a, b)
