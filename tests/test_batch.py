"""`partita batch`: jobs from a JSONL file, one folder and job.json each, resumable, sharded."""

from __future__ import annotations

import json

import pytest

from partita.batch import parse_shard, read_jobs, run_batch
from partita.cli import main
from partita.errors import InputError, PartitaError


@pytest.fixture
def jobs_file(tmp_path, small_score):
    work = tmp_path / "work"
    work.mkdir()
    small_score.dump_midi(str(work / "piece.mid"))
    jobs = [
        {"id": "key-1", "kind": "analyze", "input": "piece.mid"},
        {"id": "wav-2", "kind": "render", "input": "piece.mid", "seed": 3},
        {"id": "gone-3", "kind": "analyze", "input": "missing.mid"},
        {"id": "bad-4", "kind": "render", "input": "piece.mid", "sample_rate": 10},
        {"id": "key-5", "kind": "analyze", "input": "piece.mid", "chords": False},
    ]
    path = work / "jobs.jsonl"
    path.write_text("\n".join(json.dumps(j) for j in jobs) + "\n")
    return path


def _job(out, ident):
    return json.loads((out / ident / "job.json").read_text())


def test_each_job_writes_its_folder_and_a_sidecar(jobs_file, tmp_path):
    out = tmp_path / "out"
    report = run_batch(jobs_file, out, progress=False)
    assert [r["id"] for r in report.ran] == ["key-1", "wav-2", "gone-3", "bad-4", "key-5"]
    assert [r["status"] for r in report.ran] == ["ok", "ok", "failed", "failed", "ok"]
    wav = _job(out, "wav-2")
    assert wav["seed"] == 3 and wav["request"]["seed"] == 3 and wav["seconds"] > 0
    assert (out / "wav-2" / wav["files"]["wav"]).stat().st_size > 1000
    assert wav["report"]["audio_seconds"] > 0
    assert "no such file" in _job(out, "gone-3")["error"]
    assert "sample_rate" in _job(out, "bad-4")["error"]
    assert _job(out, "key-1")["report"]["key"] and _job(out, "key-1")["checkpoint"] is None
    lines = report.lines()
    assert lines[-1].startswith("3 ok, 2 failed, 0 already done (of 5")
    assert any("gone-3" in line and "failed" in line and "no such file" in line for line in lines)


def test_finished_jobs_are_not_run_again(jobs_file, tmp_path):
    out = tmp_path / "out"
    run_batch(jobs_file, out, progress=False)
    first = _job(out, "key-1")["started"], (out / "wav-2" / "job.json").stat().st_mtime_ns
    again = run_batch(jobs_file, out, progress=False)
    assert again.skipped == 3 and sorted(r["id"] for r in again.ran) == ["bad-4", "gone-3"]
    assert ((out / "wav-2" / "job.json").stat().st_mtime_ns == first[1])


def test_shards_split_the_jobs_without_overlap(jobs_file, tmp_path):
    parts = [run_batch(jobs_file, tmp_path / "out", shard=(i, 2), progress=False) for i in range(2)]
    ids = [[r["id"] for r in p.ran] for p in parts]
    assert ids == [["key-1", "gone-3", "key-5"], ["wav-2", "bad-4"]]
    assert parse_shard("1/4") == (1, 4) and parse_shard(None) == (0, 1)
    for bad in ("4/4", "x", "1/0"):
        with pytest.raises(PartitaError, match="i/N"):
            parse_shard(bad)


def test_broken_job_files_are_one_line_errors(tmp_path, capsys):
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"id": "a", "kind": "analyze"}\n{"id": "a", "kind": "render"}\n')
    with pytest.raises(InputError, match="already used on line 1"):
        read_jobs(path)
    path.write_text('{"kind": "analyze"}\n')
    assert main(["batch", str(path), "-o", str(tmp_path / "o"), "--quiet"]) == 2
    assert "needs an \"id\"" in capsys.readouterr().err
    path.write_text('{"id": "../up", "kind": "analyze"}\n')
    with pytest.raises(InputError, match="letters, digits"):
        read_jobs(path)


def test_cli_batch_prints_the_summary_and_exits_1_when_a_job_failed(jobs_file, tmp_path, capsys):
    assert main(["batch", str(jobs_file), "-o", str(tmp_path / "o"), "--shard", "0/2", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "2 ok, 1 failed" in out and "gone-3" in out


@pytest.mark.slow
def test_two_workers_do_what_one_does(jobs_file, tmp_path):
    one = run_batch(jobs_file, tmp_path / "one", progress=False)
    two = run_batch(jobs_file, tmp_path / "two", workers=2, progress=False)
    assert [(r["id"], r["status"]) for r in one.ran] == [(r["id"], r["status"]) for r in two.ran]
    assert _job(tmp_path / "one", "key-1")["report"]["key"] == _job(tmp_path / "two", "key-1")["report"]["key"]
