"""fit() under Accelerate: two CPU processes (gloo, localhost) over shards agree with one
process over the same global batch; a killed run resumes from its saved state; gradient
accumulation; the JSONL metrics log."""

from __future__ import annotations

import json
import socket

import pytest
import torch

from partita.datasets import shard as S
from partita.datasets.stream import Batches, ShardStream
from partita.training import FitConfig, fit, saved_step

WINDOW = 24
STEPS = 4


class TinyLM(torch.nn.Module):
    """Embedding → linear next-token model over the REMI vocabulary."""

    def __init__(self, vocab: int):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, 16)
        self.out = torch.nn.Linear(16, vocab)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.out(self.emb(x[:, :-1]))  # (B, T-1, V)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))


def collate(rows: list[dict]) -> torch.Tensor:
    """Each piece's first WINDOW tokens (every test piece has more): equal-sized rows, so the
    mean over a global batch is the mean of the processes' means."""
    return torch.tensor([r["tokens"][:WINDOW] for r in rows])


def run(folder: str, rank: int, world: int, per_rank: int, state_dir: str | None, metrics: str | None,
        stop_after: int | None = None, accumulate: int = 1) -> tuple[dict, dict]:
    """Train TinyLM from the shards; the batch at index i is this rank's rows. With
    ``world`` ranks simulated in one process (``rank=None``), the batch is all ranks' rows."""
    torch.manual_seed(0)
    model = TinyLM(S.read_manifest(folder)["tokenizer"]["config"]["vocab_size"])
    ranks = range(world) if rank is None else [rank]
    readers = [Batches(ShardStream(folder, "train", rank=r, world_size=world, seed=0, epochs=None), per_rank,
                       collate) for r in ranks]

    def next_batch(index: int) -> torch.Tensor:
        return torch.cat([b(index) for b in readers])

    config = FitConfig(steps=STEPS, lr=1e-2, warmup=1, log_every=1, progress=False, state_dir=state_dir,
                       metrics=metrics, stop_after=stop_after, accumulate=accumulate, cpu=True)
    record = fit(model, next_batch, lambda m, x: m.loss(x), config)
    return record, {k: v.detach().clone() for k, v in model.state_dict().items()}


def _worker(rank: int, world: int, port: int, folder: str, out: str, state_dir: str, stop_after: int | None) -> None:
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world), OMP_NUM_THREADS="1")
    torch.set_num_threads(1)
    record, weights = run(folder, rank, world, 2, state_dir, f"{out}/metrics-{rank}.jsonl", stop_after)
    torch.save({"record": record, "weights": weights}, f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_processes(folder, out, state_dir, stop_after=None) -> list[dict]:
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(2, _free_port(), str(folder), str(out), str(state_dir), stop_after), nprocs=2,
             join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    from tests.datasets.test_shard import write_midi_folder

    root = tmp_path_factory.mktemp("dist")
    write_midi_folder(root / "music", 40)
    S.shard(root / "music", root / "shards", shards=4, workers=1, progress=False)
    return root / "shards"


def _losses(record: dict) -> list[float]:
    return [e["loss"] for e in record["log"] if "loss" in e]


@pytest.mark.slow
def test_two_cpu_processes_agree_with_one_over_the_same_global_batch_and_resume(shards, tmp_path):
    one, one_weights = run(str(shards), None, 2, 2, None, None)
    (tmp_path / "whole").mkdir()
    whole = _two_processes(shards, tmp_path / "whole", tmp_path / "whole-state")
    assert len(_losses(one)) == STEPS
    for r in range(2):  # both ranks log the mean loss of the global batch
        assert _losses(whole[r]["record"]) == pytest.approx(_losses(one), abs=2e-4)
        for name, w in one_weights.items():
            assert torch.allclose(whole[r]["weights"][name], w, atol=1e-5), name
    metrics = [json.loads(x) for x in (tmp_path / "whole" / "metrics-0.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "loss" in m] == [1, 2, 3, 4]
    assert not (tmp_path / "whole" / "metrics-1.jsonl").exists()  # the main process writes it
    # a run killed after step 2 (its state saved), started again, continues from step 2
    (tmp_path / "parts").mkdir()
    _two_processes(shards, tmp_path / "parts", tmp_path / "parts-state", stop_after=2)
    assert saved_step(tmp_path / "parts-state") == 2
    resumed = _two_processes(shards, tmp_path / "parts", tmp_path / "parts-state")
    assert saved_step(tmp_path / "parts-state") == STEPS
    assert [e["step"] for e in resumed[0]["record"]["log"]] == [1, 2, 3, 4]
    assert _losses(resumed[0]["record"]) == pytest.approx(_losses(whole[0]["record"]), abs=2e-4)
    for name, w in whole[0]["weights"].items():
        assert torch.allclose(resumed[0]["weights"][name], w, atol=1e-5), name


def test_one_process_resumes_from_its_state_with_the_same_losses(shards, tmp_path):
    whole, whole_weights = run(str(shards), 0, 1, 4, str(tmp_path / "a"), None)
    cut, _ = run(str(shards), 0, 1, 4, str(tmp_path / "b"), str(tmp_path / "b.jsonl"), stop_after=1)
    assert saved_step(tmp_path / "b") == 1 and len(_losses(cut)) == 1
    assert [p.name for p in (tmp_path / "b").glob("step-*")] == ["step-00000001"]
    again, again_weights = run(str(shards), 0, 1, 4, str(tmp_path / "b"), str(tmp_path / "b.jsonl"))
    assert _losses(again) == pytest.approx(_losses(whole), abs=1e-6)
    assert all(torch.equal(again_weights[k], v) for k, v in whole_weights.items())
    lines = (tmp_path / "b.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3, 4]


def test_gradient_accumulation_matches_one_big_batch(shards):
    big, big_weights = run(str(shards), 0, 1, 4, None, None)
    small, small_weights = run(str(shards), 0, 1, 2, None, None, accumulate=2)
    assert _losses(small) == pytest.approx(_losses(big), abs=2e-4)
    assert all(torch.allclose(small_weights[k], v, atol=1e-5) for k, v in big_weights.items())


def test_unknown_precision_is_a_clear_error(shards):
    from partita.errors import PartitaError
    from partita.training import resolve_precision

    assert resolve_precision("auto", cpu=True) == "no"
    with pytest.raises(PartitaError, match="unknown precision"):
        resolve_precision("fp8")
