"""The evaluation harness over a MIDI folder and over a command run per prompt."""

from __future__ import annotations

import json
import shlex
import sys

import pytest

from partita.cli import main
from partita.errors import InputError
from partita.mir import evaluate
from partita.score import write


def test_folder_evaluation_writes_json_and_markdown(tmp_path, small_score):
    folder = tmp_path / "midi"
    write(small_score, folder / "a.mid")
    (folder / "b.mid").write_bytes(b"junk")
    rows = evaluate.run_folder(folder, progress=False)
    assert rows[0]["notes"] == 27 and rows[0]["meter"] == "3/4"
    assert "error" in rows[1] and "b.mid" in rows[1]["error"]
    json_path, md_path = evaluate.write_results(rows, tmp_path / "res")
    data = json.loads(json_path.read_text())
    assert data["summary"] == {"items": 2, "failed": 1, "means": data["summary"]["means"]}
    assert data["summary"]["means"]["notes"] == 27
    assert "| a.mid |" in md_path.read_text()


def test_prompt_evaluation_runs_the_command_and_scores_fidelity(tmp_path, small_score):
    src = write(small_score, tmp_path / "fixed.mid")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        json.dumps({"prompt": "a waltz", "attributes": {"meter": [3, 4], "tempo": 90}}) + "\n"
        + json.dumps({"prompt": "in 4/4", "attributes": {"meter": [4, 4]}}) + "\n")
    copy = f"{shlex.quote(sys.executable)} -c \"import shutil,sys; shutil.copy({str(src)!r}, sys.argv[1])\" {{out}}"
    out = tmp_path / "eval"
    assert main(["evaluate", "--prompts", str(prompts), "--command", copy, "-o", str(out), "--quiet"]) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [r["fidelity"] for r in rows] == [1.0, 0.0]
    assert rows[0]["prompt"] == "a waltz"


def test_failing_command_is_recorded(tmp_path):
    rows = evaluate.run_prompts([{"prompt": "x"}], "false", tmp_path, progress=False)
    assert rows[0]["error"].startswith("exit 1")


def test_bad_prompt_files(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no prompt"}\n')
    with pytest.raises(InputError, match="needs a"):
        evaluate.read_prompts(bad)
    bad.write_text("")
    with pytest.raises(InputError, match="no prompts"):
        evaluate.read_prompts(bad)
