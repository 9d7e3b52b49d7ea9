"""`partita train abc --data DIR --from CHECKPOINT`: training from shards and fine-tuning,
with the tokenizer of the shards checked against the model's."""

from __future__ import annotations

import json

import pytest
import torch

from partita.cli import main
from partita.datasets import shard as S
from partita.symbolic.abc import train as TR
from partita.symbolic.abc.data import encode_tunes
from partita.symbolic.abc.model import AbcModelConfig, load
from tests.symbolic.abc_tiny import TINY, TUNE

BODIES = ("|:dAFA DFAd|fdcd B2AG|FAdA FAdf|ecAG FDD:|", "|:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA:|",
          "|:A2FA DAFA|B2GB dBGB|A2FA DFAF|GBAG FDD2:|")


def tune(i: int) -> str:
    return f"X:{i}\nT:Hornpipe {i}\nM:4/4\nL:1/8\nR:hornpipe\nK:D\n{BODIES[i % 3]}\n"


@pytest.fixture(scope="module")
def abc_shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("ft")
    (root / "tunes").mkdir()
    (root / "tunes" / "hornpipes.abc").write_text("\n".join(tune(i) for i in range(1, 61)))
    S.shard(root / "tunes", root / "shards", tokenizer="abc", shards=2, workers=1, progress=False)
    return root / "shards"


@pytest.fixture
def base(tmp_path, monkeypatch):
    """A tiny ABC model trained two steps on the (patched) corpus, as the model to fine-tune."""
    monkeypatch.setattr(TR, "corpus_tunes", lambda split, limit=None: [TUNE])
    TR.train(tmp_path / "base", config=AbcModelConfig(**TINY), steps=2, batch_size=2, progress=False)
    return tmp_path / "base"


def test_shard_rows_are_the_tunes_the_corpus_path_encodes(abc_shards):
    rows = S.read_manifest(abc_shards)
    assert rows["splits"]["valid"]["pieces"] > 0
    from partita.datasets.stream import read_split

    by_id = {r["id"]: r for r in read_split(abc_shards, "train", columns=("id", "tokens"))}
    some = sorted(by_id)[:5]
    numbers = [int(i.rsplit("#", 1)[1].split(".")[0]) for i in some]
    got = [t for t in TR.shard_tunes(abc_shards, AbcModelConfig(**TINY), "train")]
    assert all(t in got for t in encode_tunes([tune(n) for n in numbers]))


def test_fine_tune_from_a_checkpoint_on_shards(abc_shards, base, tmp_path, capsys):
    out = tmp_path / "ft"
    metrics = tmp_path / "m.jsonl"
    assert main(["train", "abc", "--data", str(abc_shards), "--from", str(base), "-o", str(out), "--steps", "3",
                 "--batch-size", "2", "--eval-every", "3", "--metrics", str(metrics), "--quiet"]) == 0
    assert "before" in capsys.readouterr().out
    record = json.loads((out / "training.json").read_text())
    assert record["steps"] == 3 and record["init_from"] == str(base) and record["heldout_before"]["loss"] > 0
    assert record["train_tunes"] == S.read_manifest(abc_shards)["splits"]["train"]["pieces"]
    tuned, config = load(out)
    start, start_config = load(base)
    assert config == start_config
    assert any(not torch.equal(a, b) for a, b in zip(tuned.state_dict().values(), start.state_dict().values(),
                                                      strict=True))
    assert [json.loads(x)["step"] for x in metrics.read_text().splitlines()] == [3]  # log_every 50: the eval only


def test_mismatched_shards_or_output_are_clear_errors(abc_shards, base, tmp_path, capsys):
    from tests.datasets.test_shard import write_midi_folder

    write_midi_folder(tmp_path / "midi", 6)
    S.shard(tmp_path / "midi", tmp_path / "remi", shards=1, workers=1, progress=False)
    assert main(["train", "abc", "--data", str(tmp_path / "remi"), "--from", str(base), "-o", str(tmp_path / "x"),
                 "--steps", "1", "--quiet"]) == 2
    assert "shards of the remi tokenizer" in capsys.readouterr().err
    TR.train(tmp_path / "p16", config=AbcModelConfig(**{**TINY, "patch_size": 16}), steps=1, batch_size=2,
             progress=False)
    assert main(["train", "abc", "--data", str(abc_shards), "--from", str(tmp_path / "p16"), "-o",
                 str(tmp_path / "y"), "--steps", "1", "--quiet"]) == 2
    assert "patch size 32" in capsys.readouterr().err
    assert main(["train", "abc", "--data", str(abc_shards), "--from", str(base), "-o", str(base), "--steps", "1",
                 "--quiet"]) == 2
    assert "overwrite the model it starts from" in capsys.readouterr().err
    assert main(["train", "abc", "--data", str(tmp_path), "--steps", "1", "--quiet"]) == 2
    assert "no manifest.json" in capsys.readouterr().err


@pytest.mark.slow
def test_torchrun_two_cpu_processes_train_the_abc_model_from_shards(abc_shards, tmp_path):
    """The README's command on two CPU processes: one process group (gloo), one line of output,
    the metrics written once (the ABC model has parameters a loss never reaches: DDP must
    be told to look for them)."""
    import os
    import subprocess
    import sys

    out = tmp_path / "abc"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                str(_free_port())]
    cmd = [*torchrun, "-m", "partita.cli", "train", "abc", "--data", str(abc_shards), "-o", str(out), "--width", "32",
           "--patch-layers", "1", "--char-layers", "1", "--heads", "2", "--steps", "3", "--batch-size", "2",
           "--eval-every", "3", "--metrics", str(tmp_path / "m.jsonl"), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("wrote") == 1 and "3 steps" in done.stdout
    assert len((tmp_path / "m.jsonl").read_text().splitlines()) == 1
    _, config = load(out)
    assert config.d_model == 32


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- FIGARO from REMI shards ----

@pytest.fixture(scope="module")
def remi_shards(tmp_path_factory):
    from tests.datasets.test_shard import write_midi_folder

    root = tmp_path_factory.mktemp("remi")
    write_midi_folder(root / "music", 30)
    S.shard(root / "music", root / "shards", shards=2, workers=1, progress=False)
    return root / "shards"


def test_figaro_trains_from_remi_shards_and_fine_tunes(remi_shards, tmp_path, capsys):
    from partita.symbolic.figaro import model as FM
    from partita.symbolic.figaro import train as FT

    vocab = FM.JointVocab()
    windows = FT.shard_windows(remi_shards, "train", vocab, context=128, descriptions=True, progress=False)
    assert len(windows) >= 27 and all(len(w) <= 128 for w in windows)
    assert all(w[0] == vocab.remi.bos_id for w in windows)
    base = tmp_path / "base"
    assert main(["train", "figaro", "--data", str(remi_shards), "-o", str(base), "--width", "32", "--layers", "1",
                 "--heads", "2", "--context", "128", "--steps", "2", "--batch-size", "2", "--quiet"]) == 0
    record = json.loads((base / "training.json").read_text())
    assert record["data"] == str(remi_shards) and record["train_windows"] == len(windows)
    out = tmp_path / "ft"
    assert main(["train", "figaro", "--data", str(remi_shards), "--from", str(base), "-o", str(out), "--steps", "2",
                 "--batch-size", "2", "--quiet"]) == 0
    tuned = json.loads((out / "training.json").read_text())
    assert tuned["init_from"] == str(base) and "heldout_before" in tuned
    assert FM.load(out)[1] == FM.load(base)[1]
    capsys.readouterr()
    assert main(["train", "figaro", "--data", str(tmp_path / "nothing"), "--quiet"]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_figaro_refuses_shards_of_another_tokenizer(abc_shards, tmp_path, capsys):
    assert main(["train", "figaro", "--data", str(abc_shards), "-o", str(tmp_path / "f"), "--steps", "1",
                 "--quiet"]) == 2
    assert "shards of the abc tokenizer; " in (err := capsys.readouterr().err) and "(FIGARO) reads remi" in err


# ---- the anticipatory model from anticipation shards ----

def test_anticipatory_trains_from_shards_and_fine_tunes(tmp_path, capsys):
    from partita.symbolic.amt import train as AT
    from partita.tokenizers import anticipation as A
    from tests.datasets.test_shard import write_midi_folder

    write_midi_folder(tmp_path / "music", 40)
    shards = tmp_path / "amt-shards"
    S.shard(tmp_path / "music", shards, tokenizer="anticipation", shards=2, workers=1, progress=False)
    seqs = AT.shard_sequences(shards, "train", augment=2, seed=0, progress=False)
    assert seqs.shape[1] == A.CONTEXT_SIZE and len(seqs) > 0
    assert set(seqs[:, 0]) <= {A.AUTOREGRESS, A.ANTICIPATE}
    base = tmp_path / "base"
    small = ["--layers", "1", "--width", "48", "--heads", "2", "--batch-size", "1", "--eval-every", "100", "--quiet"]
    assert main(["train", "anticipatory", "--data", str(shards), "-o", str(base), "--steps", "1", *small]) == 0
    assert json.loads((base / "training.json").read_text())["data"] == str(shards)
    out = tmp_path / "ft"
    assert main(["train", "anticipatory", "--data", str(shards), "--from", str(base), "-o", str(out), "--steps", "1",
                 *small]) == 0
    tuned = json.loads((out / "training.json").read_text())
    assert tuned["init_from"] == str(base) and tuned["steps"] == 1 and "heldout_before" in tuned
    assert main(["train", "anticipatory", "--data", str(shards), "--from", str(base), "-o", str(base), "--steps",
                 "1", *small]) == 2
    assert "overwrite the model it starts from" in capsys.readouterr().err


def test_anticipatory_refuses_shards_of_another_tokenizer(remi_shards, tmp_path, capsys):
    assert main(["train", "anticipatory", "--data", str(remi_shards), "-o", str(tmp_path / "a"), "--steps", "1",
                 "--quiet"]) == 2
    assert "shards of the remi tokenizer; the anticipatory model reads anticipation" in capsys.readouterr().err
