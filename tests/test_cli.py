"""The partita command: help, info, convert, data stats, and one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from partita.cli import main
from partita.score import write


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "partita.cli", *args], capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def test_help_lists_the_verbs():
    code, out, _ = run_cli("--help")
    assert code == 0
    for verb in ("data", "info", "convert"):
        assert verb in out


def test_info_json(tmp_path, small_score, capsys):
    path = write(small_score, tmp_path / "s.mid")
    assert main(["info", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["notes"] == 27 and result["meters"] == ["3/4"] and result["keys"] == ["C minor"]
    assert [t["drum"] for t in result["track_list"]] == [False, True, False]


def test_convert_writes_and_refuses_to_overwrite_input(tmp_path, small_score, capsys):
    src = write(small_score, tmp_path / "s.mid")
    before = src.read_bytes()
    assert main(["convert", str(src), "-o", str(tmp_path / "s.musicxml")]) == 0
    assert (tmp_path / "s.musicxml").stat().st_size > 1000
    assert main(["convert", str(src), "-o", str(src)]) == 2
    assert "overwrite the input" in capsys.readouterr().err
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "content"),
    [("missing.mid", None), ("empty.mid", b""), ("bad.mid", b"RIFF....junk"), ("notune.abc", b"% nothing\n"),
     ("bad.musicxml", b"<score-partwise><part")],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, out, err = run_cli("info", str(path))
    assert code == 2
    assert err.strip().count("\n") == 0 and str(path) in err
    assert "Traceback" not in err
    code, _, err = run_cli("convert", str(path), "-o", str(tmp_path / "out.mid"))
    assert code == 2 and not (tmp_path / "out.mid").exists()


def test_data_stats_json_last_line_names_the_collections(tmp_path, capsys):
    assert main(["data", "stats", "--json", "--cache-dir", str(tmp_path), "--datasets", "chorales"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["chorales"]["pieces"] == 371 and last["chorales"]["built"] is False


def test_data_without_action_shows_help_and_fails():
    code, _, err = run_cli("data")
    assert code == 2 and "build" in err


@pytest.mark.parametrize("tokenizer", ["remi", "anticipation"])
def test_tokenize_names_and_ids(tmp_path, small_score, capsys, tokenizer):
    path = write(small_score, tmp_path / "s.mid")
    assert main(["tokenize", str(path), "--tokenizer", tokenizer]) == 0
    names = capsys.readouterr().out
    assert ("Pitch_60" in names) if tokenizer == "remi" else ("pitch=60" in names)
    assert main(["tokenize", str(path), "--tokenizer", tokenizer, "--ids"]) == 0
    assert all(t.isdigit() for t in capsys.readouterr().out.split())


def test_tokenize_abc(tmp_path, capsys):
    path = tmp_path / "t.abc"
    path.write_text("X:1\nT:t\nM:2/4\nL:1/8\nK:D\n|:DF AF|GB dB:|\n")
    assert main(["tokenize", str(path), "--tokenizer", "abc"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["'M:2/4\\n'", "'L:1/8\\n'", "'K:D\\n'"]
    assert main(["tokenize", str(tmp_path / "none.abc"), "--tokenizer", "abc"]) == 2
