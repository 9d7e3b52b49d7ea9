"""No reader executes or fetches anything; no name from a prompt or an upload leaves its folder."""

from __future__ import annotations

import ast
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partita.cli import main
from partita.errors import InputError, PartitaError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def musicxml_text(tmp_path_factory) -> str:
    from partita.score import abc_to_score, write

    path = tmp_path_factory.mktemp("xml") / "seed.musicxml"
    write(abc_to_score("X:1\nT:t\nM:3/4\nL:1/4\nK:G\nGAB|c2d|]\n"), path)
    return path.read_text()


def _body(text: str) -> str:
    """The score without its XML declaration and DOCTYPE."""
    import re

    return re.sub(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>)?", "", text)


def test_billion_laughs_is_refused(tmp_path, capsys, musicxml_text):
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    text = ('<?xml version="1.0"?><!DOCTYPE score-partwise [<!ENTITY l0 "lol">' + entities + "]>"
            + _body(musicxml_text).replace("<part-name>", "<part-name>&l9;", 1))
    path = tmp_path / "lol.musicxml"
    path.write_text(text)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "declares entities" in err and str(path) in err


def test_an_external_entity_is_never_read(tmp_path, capsys, musicxml_text):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    text = (f'<?xml version="1.0"?><!DOCTYPE score-partwise [<!ENTITY xxe SYSTEM "file://{secret}">]>'
            + _body(musicxml_text).replace("<part-name>", "<part-name>&xxe;", 1))
    path = tmp_path / "xxe.musicxml"
    path.write_text(text)
    assert main(["info", "--json", str(path)]) == 2
    out = capsys.readouterr()
    assert "declares entities" in out.err
    assert "TOP-SECRET" not in out.out + out.err
    # inside an .mxl archive too
    mxl = tmp_path / "xxe.mxl"
    with zipfile.ZipFile(mxl, "w") as zf:
        zf.writestr("score.musicxml", text)
    with pytest.raises(InputError, match="declares entities"):
        __import__("partita").read(mxl)


def test_the_plain_doctype_of_musicxml_is_read(tmp_path, musicxml_text):
    """music21 writes a DOCTYPE naming the MusicXML DTD by URL: read, never fetched (offline)."""
    assert "<!DOCTYPE" in musicxml_text
    path = tmp_path / "plain.musicxml"
    path.write_text(musicxml_text)
    assert __import__("partita").read(path).note_num() == 5


def test_a_zip_bomb_and_deep_nesting_are_refused(tmp_path, musicxml_text):
    import partita

    bomb = tmp_path / "bomb.mxl"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("score.musicxml", musicxml_text)
        zf.writestr("zeros.xml", b"\0" * (80 * 2**20))
    assert bomb.stat().st_size < 2**20
    with pytest.raises(InputError, match="unpacks to more than"):
        partita.read(bomb)
    deep = tmp_path / "deep.musicxml"
    deep.write_text(musicxml_text.replace("<pitch>", "<x>" * 10_000 + "</x>" * 10_000 + "<pitch>", 1))
    with pytest.raises(InputError, match="nest deeper"):
        partita.read(deep)


def test_a_yaml_description_cannot_run_code_nor_bomb(tmp_path, capsys):
    from partita.compose.description_file import read_description

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.yaml"
    evil.write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(InputError, match="not a readable description"):
        read_description(evil)
    assert not marker.exists()
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)) + "bars: *i\n")
    assert main(["generate", "--description", str(bomb), "--arranger-only", "--no-embeddings",
                 "-o", str(tmp_path / "out")]) == 2
    assert str(bomb) in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _calls(tree: ast.AST, dotted: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            base = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
            if f"{base}.{name}" == dotted or (not base and name == dotted.split(".")[-1] and "." not in dotted):
                yield node


def test_no_unsafe_deserialisation_anywhere_in_partita():
    """torch.load only with weights_only=True; no pickle, marshal, eval of data, or yaml.load
    without the safe loader (every checkpoint folder is safetensors)."""
    bad = []
    names = ("torch.load", "pickle", "marshal", "yaml.", "np.load", "numpy.load", "dill", "joblib", "eval(",
             "exec(")
    for path in sorted((ROOT / "partita").rglob("*.py")):
        text = path.read_text()
        if not any(n in text for n in names):
            continue
        tree = ast.parse(text, str(path))
        for call in _calls(tree, "torch.load"):
            kw = {k.arg: k.value for k in call.keywords}
            if not (isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True):
                bad.append(f"{path}:{call.lineno} torch.load without weights_only=True")
        for dotted in ("pickle.load", "pickle.loads", "marshal.loads", "yaml.load", "yaml.unsafe_load",
                       "dill.load", "joblib.load", "numpy.load", "np.load"):
            for call in _calls(tree, dotted):
                kw = {k.arg: k.value for k in call.keywords}
                if dotted == "yaml.load" and "Loader" in kw:
                    loader = kw["Loader"]
                    named = loader.id if isinstance(loader, ast.Name) else None
                    if "SafeLoader" in ast.get_source_segment(text, loader) or (
                            named and re.search(rf"\b{named}\s*=.*SafeLoader", text)):
                        continue
                if dotted.endswith("np.load") or dotted.endswith("numpy.load"):
                    if isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False:
                        continue
                    if "allow_pickle" not in kw:  # numpy's default is False
                        continue
                bad.append(f"{path}:{call.lineno} {dotted}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("eval", "exec"):
                bad.append(f"{path}:{node.lineno} {node.func.id}")
    assert not bad, "\n".join(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.text(alphabet="ak -", min_size=200, max_size=600))
def test_file_names_from_prompts_stay_in_the_output_folder(prompt):
    from partita.compose.text_to_midi import SLUG_CHARS, slug

    name = slug(prompt)
    out = Path("/tmp/out-folder")
    assert name and "/" not in name and "\\" not in name and name not in (".", "..")
    assert len(name) <= SLUG_CHARS and not name.startswith("-") and not name.endswith("-")
    assert (out / f"{name}.mid").resolve().parent == out.resolve()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_upload_names_stay_in_their_folder(name):
    from partita.serve.uploads import display_name, suffix_of

    shown = display_name(name)
    assert "/" not in shown and "\\" not in shown and "\0" not in shown
    try:
        suffix = suffix_of(name)
    except PartitaError:
        return
    folder = Path("/tmp/uploads/0123")
    stored = folder / f"{Path(shown).stem or 'upload'}{suffix}"  # as the app stores it
    assert stored.resolve().parent == folder.resolve()


@pytest.mark.slow
def test_generate_writes_only_inside_its_output_folder(tmp_path):
    """A prompt that names a path ("../../etc/passwd") gives a plain file name in the folder."""
    out = tmp_path / "out"
    assert main(["generate", "a reel ../../../tmp/evil /etc/passwd in D, 8 bars", "--arranger-only",
                 "--no-embeddings", "-o", str(out)]) == 0
    written = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert written and all((out / w).exists() for w in written)
    assert all("evil" not in w or w.startswith("a-reel") for w in written)


def test_no_reader_reaches_the_network(tmp_path, monkeypatch):
    """Reading every format with the network switched off: any connection attempt fails the test."""
    import socket

    import partita
    from partita.score import abc_to_score, write

    def refuse(*args, **kwargs):
        raise AssertionError(f"a reader opened a network connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    score = abc_to_score("X:1\nT:t\nM:2/4\nL:1/8\nK:D\nDEFG|A4|]\n")
    for suffix in (".mid", ".musicxml", ".mxl", ".abc"):
        path = tmp_path / f"x{suffix}"
        write(score, path)
        assert partita.read(path).note_num() == 5
