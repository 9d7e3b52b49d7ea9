"""The package's shape, read from its imports: cli -> compose -> symbolic -> tokenizers ->
score/theory; no model imports compose; inference never imports training; nobody imports
another module's underscore names; every model family has the same files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "partita"
FAMILIES = ("amt", "abc", "figaro", "theme")


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import in a file, nested ones too."""
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names], node.lineno))
    return out


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# (importer package, packages it must not import)
FORBIDDEN = [
    ("partita.symbolic", ("partita.compose", "partita.cli", "partita.serve", "partita.jobs")),
    ("partita.tokenizers", ("partita.symbolic", "partita.compose", "partita.cli", "partita.serve", "partita.jobs")),
    ("partita.score", ("partita.tokenizers", "partita.symbolic", "partita.compose", "partita.cli", "partita.jobs")),
    ("partita.theory", ("partita.tokenizers", "partita.symbolic", "partita.compose", "partita.cli", "partita.mir")),
    ("partita.compose", ("partita.cli", "partita.serve", "partita.jobs")),
    ("partita.mir", ("partita.compose", "partita.cli", "partita.serve", "partita.jobs")),
    ("partita.audio_render", ("partita.compose", "partita.symbolic", "partita.cli", "partita.serve", "partita.jobs")),
    # jobs (the pipelines as requests) sits at the CLI's level, under the web server: never the other way
    ("partita.jobs", ("partita.serve",)),
]


def test_dependencies_point_down():
    bad = []
    for name, path in MODULES.items():
        for imported, _, line in _imports(path):
            for package, banned in FORBIDDEN:
                if _under(name, package) and any(_under(imported, b) for b in banned):
                    bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {imported}")
    assert not bad, "\n".join(bad)


def test_no_underscore_names_across_modules():
    bad = []
    for name, path in MODULES.items():
        for imported, names, line in _imports(path):
            if not imported.startswith("partita") or imported == name:
                continue
            hidden = [n for n in names if n.startswith("_") and not n.startswith("__")]
            hidden += [p for p in imported.split(".") if p.startswith("_") and p != "__init__"]
            if hidden:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line} takes {hidden} from {imported}")
    assert not bad, "\n".join(bad)


def _module_aliases(path: Path) -> dict[str, str]:
    """Local names bound to partita modules in a file (``from partita.x import y as Y``, ``import partita.x as X``)."""
    tree = ast.parse(path.read_text(), str(path))
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update({a.asname: a.name for a in node.names if a.asname and a.name in MODULES})
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                if f"{node.module}.{a.name}" in MODULES:
                    out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def test_no_underscore_attributes_of_other_modules():
    bad = []
    for name, path in MODULES.items():
        aliases = _module_aliases(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__") and aliases[node.value.id] != name):
                bad.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)


def test_inference_never_imports_training():
    bad = []
    for name, path in MODULES.items():
        if name.endswith(".train") or name == "partita.cli" or name.startswith("partita.serve"):
            continue
        for imported, _, line in _imports(path):
            if imported.endswith(".train") and imported.startswith("partita"):
                bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {imported}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_has_the_same_shape(family):
    folder = ROOT / "symbolic" / family
    for part in ("model.py", "data.py", "sample.py", "train.py"):
        assert (folder / part).is_file(), f"symbolic/{family}/{part} is missing"


def test_no_flat_modules_left_in_symbolic():
    flat = sorted(p.name for p in (ROOT / "symbolic").glob("*.py") if p.name != "__init__.py")
    assert flat == []
