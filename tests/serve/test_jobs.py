"""partita.jobs without a server: one request model per kind with the CLI's defaults, one-line
errors, and run_job's files and report."""

from __future__ import annotations

import json

import pytest

from partita import jobs
from partita.errors import PartitaError


def test_every_kind_has_a_model_and_a_runner():
    assert set(jobs.MODELS) == set(jobs.KINDS) == set(jobs.RUNNERS)
    for kind, model in jobs.MODELS.items():
        assert model.model_fields["kind"].default == kind


def test_defaults_are_the_cli_and_api_defaults():
    from partita.cli import build_parser
    from partita.compose.text_to_midi import GenerateRequest

    gen = jobs.GenerateJob()
    api = GenerateRequest()
    assert (gen.seed, gen.candidates, gen.use_embeddings, gen.writer) == (api.seed, api.candidates,
                                                                         api.use_embeddings, api.writer)
    parser = build_parser()
    abc = vars(parser.parse_args(["abc", "p", "-o", "x"]))
    assert (jobs.AbcJob(prompt="p").candidates, jobs.AbcJob(prompt="p").top_p) == (abc["candidates"], abc["top_p"])
    theme = vars(parser.parse_args(["theme", "t", "-o", "x"]))
    job = jobs.ThemeJob()
    assert (job.bars, job.every, job.seed, job.top_p) == (theme["bars"], theme["every"], theme["seed"], theme["top_p"])
    render = vars(parser.parse_args(["render", "a", "-o", "x"]))
    assert (jobs.RenderJob().engine, jobs.RenderJob().sample_rate) == (render["engine"], render["sample_rate"])
    accompany = vars(parser.parse_args(["accompany", "m", "-o", "x"]))
    assert jobs.AccompanyJob().candidates == accompany["candidates"]
    # sampling options the CLI leaves None stay None: SamplingConfig's defaults apply
    assert jobs.InfillJob().top_p is None and jobs.InfillJob().seed is None


@pytest.mark.parametrize("data, message", [
    ({"kind": "jazz"}, "unknown job kind 'jazz'"),
    ([1, 2], "a job is a JSON object"),
    ({"kind": "generate", "seed": -1}, "generate: seed: Input should be greater than or equal to 0"),
    ({"kind": "generate", "writer": "mozart"}, "generate: writer: Input should be"),
    ({"kind": "continue", "bars": 1000}, "continue: bars: Input should be less than or equal to 256"),
    ({"kind": "abc", "prompt": "a reel", "form": "A B"}, "abc: form: String should match pattern"),
])
def test_bad_jobs_are_one_line_errors(data, message):
    with pytest.raises(PartitaError, match="^" + message.replace("(", r"\(")):
        jobs.parse_job(data)


def test_a_job_without_its_input_says_what_to_give(tmp_path):
    with pytest.raises(PartitaError, match="infill: give a piece"):
        jobs.run_job({"kind": "infill", "start_bar": 1, "end_bar": 2}, tmp_path)
    with pytest.raises(PartitaError, match="no such file"):
        jobs.run_job({"kind": "analyze", "input": str(tmp_path / "missing.mid")}, tmp_path)


def test_span_seconds_follows_bars_and_tempo(small_score):
    from partita.compose.accompany import span_seconds

    # 3/4 at 90 qpm: a bar is 2 s
    assert span_seconds(small_score, 2, 3, None, None) == pytest.approx((2.0, 6.0))
    assert span_seconds(small_score, None, None, 0.5, 1.5) == (0.5, 1.5)
    with pytest.raises(PartitaError, match="outside the piece"):
        span_seconds(small_score, 2, 9, None, None)


def test_analyze_and_render_write_their_files(tmp_path, small_score):
    from partita.score import write

    piece = write(small_score, tmp_path / "piece.mid")
    seen = []
    result = jobs.run_job({"kind": "analyze", "input": str(piece)}, tmp_path / "a",
                          progress=lambda f, m: seen.append(f))
    assert result["report"]["key_name"] == "C minor" and tuple(result["report"]["meter"]) == (3, 4)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert json.loads((tmp_path / "a" / result["files"]["report"]).read_text())["notes"] == small_score.note_num()
    result = jobs.run_job({"kind": "render", "input": str(piece), "seed": 3}, tmp_path / "r")
    assert result["files"]["wav"] == "render-soundfont.wav"
    assert result["report"]["audio_seconds"] > 6.0 and result["report"]["request"]["seed"] == 3


def test_a_progress_callback_that_raises_stops_the_job(tmp_path, small_score):
    from partita.score import write

    piece = write(small_score, tmp_path / "piece.mid")

    class Stop(Exception):
        pass

    def stop(fraction, message):
        if fraction > 0:
            raise Stop()

    with pytest.raises(Stop):
        jobs.run_job({"kind": "render", "input": str(piece)}, tmp_path / "r", progress=stop)
    assert not (tmp_path / "r" / "render-soundfont.wav").exists()


def test_piano_roll_has_bars_and_tracks(small_score):
    roll = jobs.piano_roll(small_score)
    assert roll["bars"] == [0, 1440, 2880] and roll["bar_seconds"] == pytest.approx([0.0, 2.0, 4.0])
    assert [t["name"] for t in roll["tracks"]] == ["flute", "drums", "piano"]
    assert roll["tracks"][0]["notes"][0] == [0, 480, 60, 90] and roll["tracks"][1]["drum"] is True


def test_generate_writes_every_export_and_keeps_its_seed(tmp_path):
    result = jobs.run_job({"kind": "generate", "prompt": "a waltz in F for piano, 4 bars", "seed": 5,
                           "candidates": 1, "arranger_only": True, "use_embeddings": False}, tmp_path)
    files = result["files"]
    assert set(files) >= {"midi", "musicxml", "abc", "roll", "report"}
    assert result["report"]["seed"] == 5 and result["report"]["request"]["seed"] == 5
    from partita.score import read

    assert read(tmp_path / files["midi"]).note_num() > 0
    jobs.run_job({"kind": "generate", "prompt": "a waltz in F for piano, 4 bars", "seed": 5,
                          "candidates": 1, "arranger_only": True, "use_embeddings": False}, tmp_path / "again")
    assert (tmp_path / "again" / files["midi"]).read_bytes() == (tmp_path / files["midi"]).read_bytes()
