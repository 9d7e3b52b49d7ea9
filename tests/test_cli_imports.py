"""The CLI parses before it imports: `partita --help` and `partita info` load none of the heavy
libraries (torch, transformers, music21, librosa, sklearn, sentence_transformers) nor the
models. Each check runs in a fresh interpreter and reads its sys.modules: behaviour, not timing."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "music21", "librosa", "sklearn", "sentence_transformers", "onnxruntime",
         "basic_pitch", "partita.symbolic", "partita.compose", "partita.training", "partita.sampling")


def loaded_after(code: str) -> list[str]:
    """The HEAVY modules (and numpy, symusic) in sys.modules after running ``code`` in a new interpreter."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted(m for m in {HEAVY + ('numpy', 'symusic')!r} if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_partita_is_light():
    assert loaded_after("import partita") == []


def test_building_the_parser_and_parsing_info_imports_nothing_heavy():
    code = ("import partita.cli\n"
            "args = partita.cli.build_parser().parse_args(['info', 'x.mid', '--json'])\n"
            "assert args.func.__name__ == '_info'")
    assert loaded_after(code) == []  # not even numpy: the parser is the standard library alone


def test_help_imports_nothing_heavy():
    code = ("import contextlib, io, partita.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    partita.cli.main(['--help'])")
    assert loaded_after(code) == []


def test_info_reads_a_file_without_heavy_libraries(tmp_path, small_score):
    from partita.score import write

    path = write(small_score, tmp_path / "s.mid")
    code = ("import contextlib, io, partita.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert partita.cli.main(['info', {str(path)!r}, '--json']) == 0")
    loaded = loaded_after(code)
    assert not set(loaded) & set(HEAVY), loaded
    assert "symusic" in loaded  # the probe sees what a verb does import


def test_writer_choices_agree_with_the_api():
    from partita.cli import WRITERS
    from partita.compose import text_to_midi

    assert WRITERS == text_to_midi.WRITERS
