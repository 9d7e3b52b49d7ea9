"""Every input that once made a reader fail (a hang, a traceback, an error without the file's
name, output left by a failed run) stays a test: tests/data/fuzz/<reader>-<what it did>.<suffix>.
Each goes through every entry point of its reader in a child process under the fuzz harness's
time and memory limits, and must end in a result or one clear error line (exit code 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.fuzz import entry_points

DATA = Path(__file__).resolve().parents[1] / "data" / "fuzz"
CASES = sorted(p for p in DATA.iterdir() if p.is_file() and p.name != "README.md")


def test_the_regression_files_are_there_and_small():
    assert len(CASES) >= 12
    assert all(p.stat().st_size < 100_000 for p in CASES)


SCORES = [p for p in CASES if p.name.split("-")[0] in ("midi", "abc", "musicxml")]


@pytest.mark.parametrize("path", SCORES, ids=[p.name for p in SCORES])
def test_a_former_score_failure_reads_or_is_refused_at_once(path, deadline):
    """In this process, bounded by an alarm: the fast check the default test run makes."""
    import partita
    from partita.errors import InputError

    with deadline(20):
        try:
            score = partita.read(path)
        except InputError as exc:
            assert str(path) in str(exc)
        else:
            assert score.note_num() > 0


@pytest.mark.slow
@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_a_former_failure_ends_in_a_result_or_one_clear_error(path, run_limited):
    reader = path.name.split("-")[0]
    for entry in entry_points(reader):
        run = run_limited(reader, entry, path, time_limit=60)
        assert run["outcome"] in ("ok", "error"), (entry, run)


def test_a_description_with_any_section_letters_is_arranged(tmp_path, capsys):
    """Once a KeyError (sections other than A and B): the regression files are now in CASES."""
    from partita.cli import main

    for path in sorted(DATA.glob("description-section-*-keyerror-in-arrange.yaml")):
        code = main(["generate", "--description", str(path), "--arranger-only", "--no-embeddings", "-o",
                     str(tmp_path / path.stem)])
        assert code in (0, 2), capsys.readouterr().err
        assert "Traceback" not in capsys.readouterr().err


@pytest.mark.slow
def test_what_the_fixes_answer(tmp_path, capsys):
    """The answers themselves, where a bare 'ok or error' would hide a wrong one."""
    import json

    from partita.cli import main

    wav = DATA / "wav-8khz-u8-chroma-above-nyquist.wav"
    assert main(["analyze", "--json", str(wav)]) == 0
    assert json.loads(capsys.readouterr().out)["sample_rate"] == 8000
    short = DATA / "wav-short-numpy-bool-in-json.wav"
    assert main(["analyze", "--json", str(short)]) == 0
    assert json.loads(capsys.readouterr().out)["silent"] is False
    assert main(["analyze", str(DATA / "wav-nan-sample.wav")]) == 2
    assert "not numbers" in capsys.readouterr().err
    desc = DATA / "description-repeat-300-unnamed-error.yaml"
    assert main(["generate", "--description", str(desc), "--arranger-only", "--no-embeddings",
                 "-o", str(tmp_path / "d")]) == 2
    assert f"partita: error: {desc}: " in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
    prompt = (DATA / "prompt-meter-0-4-indexerror.txt").read_text()
    assert main(["generate", prompt, "--arranger-only", "--no-embeddings", "-o", str(tmp_path / "p")]) == 0
    assert "meter" in capsys.readouterr().out
    from partita.score import read

    score = read(DATA / "abc-additive-meter-34s-typeerror.abc")
    assert (score.time_signatures[0].numerator, score.time_signatures[0].denominator) == (9, 8)
