"""ABC for a TunesFormer-style model: normalised tunes, bar patches, form control codes.

Wu et al. 2023, "TunesFormer: Forming Irish tunes with control codes by bar patching"
(arXiv 2301.02884); the layout follows the authors' released code (sander-wood/tunesformer).

:func:`normalize_abc` keeps the header fields that shape the music and writes the body as
one stream of bars; :func:`patches` cuts it into one patch per header field and per bar
(characters are the vocabulary, so a model can work across patches and inside each);
:func:`control_codes` computes the form controls ``S:`` (sections), ``B:`` (bars per
section) and ``E:`` (similarity 0-10 to each earlier section) that go before the header::

    S:2
    B:8
    E:9
    B:8
    M:4/4
    L:1/8
    R:reel
    K:G
    |:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|GABc dedB|dedB dedB|c2ec B2dB|A2F2 G4::gABc ...|
"""

from __future__ import annotations

import json
import platform
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from symusic import Score

from partita.tokenizers.grammar import Grammar

PATCH_SIZE = 32
"""Most characters in one patch (the patch-BOS and patch-EOS tokens come on top)."""
HEADER_FIELDS = ("M", "L", "Q", "R")
"""Header fields kept, in this order; ``K`` follows them (ABC wants it last)."""
BODY_FIELDS = ("K", "L", "M", "Q", "V")
"""Fields that change the music mid-tune; music21 reads them only on lines of their own."""
SPECIALS = ("<pad>", "<bos>", "<eos>", "<bos-patch>", "<eos-patch>")
PAD, BOS, EOS, BOS_PATCH, EOS_PATCH = range(len(SPECIALS))
CHARS = "\n" + "".join(chr(c) for c in range(32, 127))
"""The character vocabulary: newline and printable ASCII."""
FORMAT_VERSION = 1
TOKENIZER_FILE = "abc_tokenizer.json"

_FIELD = re.compile(r"^([A-Za-z]):(.*)$")
# music21 reads an upper-case letter (or w) followed by ':' but not '|' as a field, anywhere
BODY_FIELD = re.compile(r"^([A-Zw]):(?!\|)(.*)$")
_VARIANT = r"\[?\d+(?:[,-]\d+)*"
_UNIT = re.compile(rf"\[\|\]?|:*\|+\]?:*|::+|{_VARIANT}")
_TOKEN = re.compile(
    r'(?P<quote>"[^"]*"?)'                          # chord symbol or annotation
    r"|(?P<deco>![^!\s|]*!)"                        # !decoration!
    r"|(?P<field>\[[A-Za-z]:[^\]\n]*\]?)"           # inline field [K:G]
    r"|(?P<tuplet>\(\d+(?::\d*){0,2})"              # (3 (3:2 (3::2
    rf"|(?P<bar>(?:\[\|\]?|:*\|+\]?:*|::+)+(?:{_VARIANT})?|\[\d+(?:[,-]\d+)*)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)", re.S)
MUSIC = set("ABCDEFGabcdefgzxZX")
"""The letters of notes and rests."""


# --------------------------------------------------------------------------- normalisation


def _ascii(text: str) -> str:
    """Accents folded (é → e), tabs as spaces, characters outside :data:`CHARS` dropped."""
    folded = unicodedata.normalize("NFKD", text.replace("\t", " "))
    return "".join(c for c in folded if c in CHARS)


def _strip_comment(line: str) -> str:
    """The line up to its first ``%`` outside a quoted string."""
    quoted = False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif c == "%" and not quoted:
            return line[:i]
    return line


def _clean(value: str) -> str:
    return " ".join(value.split())


def default_unit(meter: str | None) -> str:
    """ABC's default note length: 1/16 when the meter is below 3/4, else (or unknown) 1/8."""
    if meter is None or meter in ("C", "C|", "none", ""):
        return "1/8"
    m = re.match(r"^\(?([\d+]+)\)?/(\d+)", meter)
    if not m:
        return "1/8"
    value = Fraction(sum(int(x) for x in m.group(1).split("+") if x), int(m.group(2)) or 1)
    return "1/16" if value < Fraction(3, 4) else "1/8"


def bar_units(group: str) -> list[str]:
    """The units of a barline run: ``"|]|:"`` → ``["|]", "|:"]``."""
    return _UNIT.findall(group)


def is_variant(unit: str) -> bool:
    """A barline unit that starts a variant ending (``1``, ``[2``)."""
    return unit[0].isdigit() or (unit[0] == "[" and unit[1:2] != "|")


def _canonical_unit(unit: str) -> str:
    if is_variant(unit) or unit.startswith("[|"):
        return unit
    opens, closes = unit.endswith(":"), unit.startswith(":")
    if opens and closes or "|" not in unit:
        return "::"
    if closes:
        return ":|"
    if opens:
        return "|:"
    if unit.endswith("]"):
        return "|]"
    return "||" if unit.count("|") > 1 else "|"


def _merge_units(a: str, b: str) -> list[str]:
    """One or two barline units for unit ``a`` followed by unit ``b`` with nothing between."""
    if is_variant(a) or is_variant(b):
        return [a, b]
    if a == b or b == "|":
        return [a]
    if a == "|":
        return [b]
    if a in (":|", "::") and b in ("|:", "::"):
        return ["::"]
    if a in (":|", "::") and b in ("||", "|]"):
        return [a]
    if bar_units(a + b) == [a, b]:
        return [a, b]
    return [b] if ":" in b else [a]  # keep the repeat sign when the two cannot be written apart


def _canonical_bar(*groups: str) -> str:
    """Runs of barline symbols with nothing but spaces between, written as one canonical
    run: ``:|`` + ``|:`` is ``::``, a plain ``|`` next to another barline disappears,
    ``:||:`` is ``::``; variant endings are kept."""
    units: list[str] = []
    for group in groups:
        for unit in map(_canonical_unit, bar_units(group)):
            units = units[:-1] + _merge_units(units[-1], unit) if units else [unit]
    return "".join(units)


def _canonical_music(lines: Sequence[str]) -> str:
    """Music lines joined into one stream: single spaces, no spaces next to barlines,
    adjacent barlines merged, inline fields other than :data:`BODY_FIELDS` dropped.

    Dropping a space can make new barline symbols (``| 1`` → ``|1``, ``:| :`` → ``:|:``),
    so the pass repeats until nothing changes.
    """
    stream = " ".join(lines)
    for _ in range(5):
        again = _canonical_pass(stream)
        if again == stream:
            break
        stream = again
    return stream


def _canonical_pass(stream: str) -> str:
    out: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(stream):
        kind, text = m.lastgroup or "other", m.group()
        if kind == "field":
            if text[1] not in BODY_FIELDS:
                continue
            text = f"[{text[1]}:{_clean(text[3:].rstrip(']'))}]"
        if kind == "space":
            if out and out[-1][0] not in ("space", "bar"):
                out.append(("space", " "))
            continue
        if kind == "bar":
            if out and out[-1][0] == "space":
                out.pop()
            if out and out[-1][0] == "bar":
                out[-1] = ("bar", _canonical_bar(out[-1][1], text))
                continue
            text = _canonical_bar(text)
        out.append((kind, text))
    if out and out[-1][0] == "space":
        out.pop()
    pieces: list[str] = []
    for _, text in out:
        # music21 would read "B::" or "B:" as the start of a field line; a space keeps it music
        if (text.startswith(":") and not text.startswith(":|") and pieces
                and re.search(r"[A-Zw]$", pieces[-1])):
            pieces.append(" ")
        pieces.append(text)
    return "".join(pieces)


def normalize_abc(tune_text: str) -> str:
    """The normalised text of one ABC tune.

    The header keeps ``M L Q R`` (those present, in this order), then ``K``; a missing
    ``L`` gets ABC's default (1/16 below a 3/4 meter, else 1/8). Titles, lyrics, comments,
    directives, ``X`` and all other fields go; fields before ``X:`` (a file header) are
    defaults that the tune's own override. The body becomes one stream of bars: line
    breaks and ``\\`` continuations go, whitespace runs become one space, spaces next to
    barlines go, adjacent barlines merge (``:|`` + ``|:`` → ``::``). A mid-tune ``K: L: M:
    Q: V:`` field keeps a line of its own (music21 ignores inline ``[K:...]`` fields).
    Accents are folded; other non-ASCII characters are dropped. Normalising the result
    (which ends with a newline) again changes nothing.

    Args:
        tune_text: one tune, optionally preceded by its file header.

    Raises:
        ValueError: the tune has no ``K:`` field.
    """
    header: dict[str, str] = {}
    key: str | None = None
    body: list[str] = []
    music: list[str] = []
    for raw in _ascii(tune_text).splitlines():
        if raw.lstrip().startswith("%"):
            continue  # comments and %% directives
        line = _strip_comment(raw).strip()
        if key is None:
            m = _FIELD.match(line)
            if m and m.group(1) == "K":
                key = _clean(m.group(2))
            elif m and m.group(1) in HEADER_FIELDS:
                header[m.group(1)] = _clean(m.group(2))
            continue
        m = BODY_FIELD.match(line)
        if m:
            if m.group(1) in BODY_FIELDS:
                if music:
                    body.append(_canonical_music(music))
                    music = []
                body.append(f"{m.group(1)}:{_clean(m.group(2))}")
            continue
        line = line[:-1] if line.endswith("\\") else line
        if line.strip():
            music.append(line)
    if key is None:
        raise ValueError("the tune has no K: field")
    if music:
        body.append(_canonical_music(music))
    header.setdefault("L", default_unit(header.get("M")))
    lines = [f"{f}:{header[f]}" for f in HEADER_FIELDS if f in header] + [f"K:{key}"]
    return "\n".join(lines + [b for b in body if b]) + "\n"


def split_tune(normalized: str) -> tuple[list[str], str]:
    """(header lines with their newlines, body) of a normalised tune; the body keeps its
    final newline."""
    lines = normalized.splitlines(keepends=True)
    k = next((i for i, line in enumerate(lines) if line.startswith("K:")), None)
    if k is None:
        raise ValueError("the tune has no K: field")
    return lines[: k + 1], "".join(lines[k + 1:])


# --------------------------------------------------------------------------- bar patches


def split_bars(body: str) -> list[str]:
    """The bars of a (normalised) body, each keeping the barline symbols that end it.

    A bar ends at its closing barline run (``|`` ``||`` ``|]`` ``:|`` ``::`` ``|:`` ``:|2``
    ``|[1`` ...): a variant ending's number rides with the barline before it. A barline that
    opens the body (or a line) stays at the start of the first bar (``|:GABc|``). Barlines
    inside quoted strings and ``!decorations!`` do not count. A field line (``K:D``) is a
    piece of its own, and a line's newline stays with its last bar. Joining the pieces
    gives ``body`` back.
    """
    pieces: list[str] = []
    for line in body.splitlines(keepends=True):
        if BODY_FIELD.match(line):
            pieces.append(line)
            continue
        bars, start, has_content = [], 0, False
        for m in _TOKEN.finditer(line):
            if m.lastgroup == "bar":
                if has_content:
                    bars.append(line[start:m.end()])
                    start, has_content = m.end(), False
            elif m.lastgroup != "space":
                has_content = True
        rest = line[start:]
        if rest.strip() or not bars:
            bars.append(rest)
        else:
            bars[-1] += rest
        pieces += [b for b in bars if b]
    return pieces


def _cut(piece: str, size: int) -> list[str]:
    """``piece`` in chunks of at most ``size`` characters, each cut after the last space
    that fits (a hard cut where there is none); a final newline never stands alone."""
    chunks = []
    while len(piece) > size:
        limit = size - 1 if piece[size:] == "\n" else size
        space = piece.rfind(" ", 1, limit)
        at = space + 1 if space > 0 else limit
        chunks.append(piece[:at])
        piece = piece[at:]
    return [*chunks, piece]


def patches(normalized: str, size: int = PATCH_SIZE) -> list[str]:
    """The patches of a normalised tune: one per header field, then one per bar (or field
    line) of :func:`split_bars`.

    A piece longer than ``size`` characters is cut into several patches: after the last
    space within its first ``size`` characters, or after exactly ``size`` characters when
    there is none (one fewer where only the newline would be left for the next patch).
    Joining the patches gives the text back.
    """
    header, body = split_tune(normalized)
    return [chunk for piece in header + split_bars(body) for chunk in _cut(piece, size)]


def codes_lines(text: str) -> tuple[list[str], str]:
    """(leading control-code lines with newlines, the rest of ``text``)."""
    lines = text.splitlines(keepends=True)
    n = 0
    while n < len(lines) and re.match(r"^[SBE]:\d+\s*$", lines[n]):
        n += 1
    return lines[:n], "".join(lines[n:])


class AbcTokenizer:
    """Characters as ids, grouped in bar patches (TunesFormer) or in one flat stream.

    Ids: the :data:`SPECIALS` (pad, tune BOS/EOS, patch BOS/EOS), then :data:`CHARS`.
    A patch is ``[BOS_PATCH, c1, ..., cn, EOS_PATCH]`` with ``n <= patch_size``; a tune is
    a list of patches, and :meth:`flatten` frames it as ``[BOS, patches..., EOS]``.

    Args:
        patch_size: most characters in a patch.
    """

    name = "abc"
    vocab_size = len(SPECIALS) + len(CHARS)

    def __init__(self, patch_size: int = PATCH_SIZE) -> None:
        self.patch_size = patch_size
        self._index = {c: i + len(SPECIALS) for i, c in enumerate(CHARS)}
        types = ["pad", "bos", "eos", "bos-patch", "eos-patch", "newline"] + ["char"] * (len(CHARS) - 1)
        self.grammar = Grammar.from_token_types(types, {
            "bos": {"bos-patch"},
            "bos-patch": {"char"},
            "char": {"char", "newline", "eos-patch"},
            "newline": {"eos-patch"},  # a newline always closes its patch
            "eos-patch": {"bos-patch", "eos", "pad"},
            "eos": {"pad"},
            "pad": {"pad"},
        }, start={"bos", "bos-patch"})
        """Grammar of a flattened tune and of each (padded) patch row."""
        self.flat_grammar = Grammar.from_token_types(types, {
            "bos": {"char"}, "char": {"char", "newline"}, "newline": {"char", "eos"},
            "eos": {"pad"}, "pad": {"pad"}}, start={"bos"})
        """Grammar of the flat character-level baseline (:meth:`encode_flat`)."""

    def char_ids(self, text: str) -> list[int]:
        """The ids of the characters of ``text`` (no patch marks); ValueError for a character
        outside the vocabulary."""
        try:
            return [self._index[c] for c in text]
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} is not in the ABC vocabulary") from None

    def encode(self, tune_text: str, *, controls: bool = False) -> list[list[int]]:
        """The patches of a tune (normalised first), each framed by ``BOS_PATCH`` and
        ``EOS_PATCH``; with ``controls``, the tune's control codes come first, one line
        per patch."""
        normalized = normalize_abc(codes_lines(tune_text)[1])
        pieces = patches(normalized, self.patch_size)
        if controls:
            pieces = format_control_codes(control_codes(normalized)).splitlines(keepends=True) + pieces
        return [[BOS_PATCH, *self.char_ids(p), EOS_PATCH] for p in pieces]

    def decode(self, patch_ids: Sequence[Sequence[int]]) -> str:
        """The text of a list of patches (special tokens are skipped)."""
        return "".join(CHARS[i - len(SPECIALS)] for p in patch_ids for i in p if i >= len(SPECIALS))

    def flatten(self, patch_ids: Sequence[Sequence[int]]) -> list[int]:
        """One stream: ``BOS``, the patches one after another, ``EOS``."""
        return [BOS, *(i for p in patch_ids for i in p), EOS]

    def unflatten(self, ids: Sequence[int]) -> list[list[int]]:
        """The patches of a flattened stream (the inverse of :meth:`flatten`)."""
        out: list[list[int]] = []
        for i in ids:
            if i == BOS_PATCH or not out or out[-1][-1] == EOS_PATCH:
                if i in (PAD, BOS, EOS):
                    continue
                out.append([])
            out[-1].append(int(i))
        return out

    def to_array(self, patch_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """The patches as an int64 array ``(n_patches, patch_size + 2)``, padded with PAD
        (ValueError for a longer patch)."""
        out = np.full((len(patch_ids), self.patch_size + 2), PAD, dtype=np.int64)
        for row, p in enumerate(patch_ids):
            if len(p) > self.patch_size + 2:
                raise ValueError(f"patch {row} has {len(p)} ids, more than {self.patch_size + 2}")
            out[row, : len(p)] = p
        return out

    def encode_flat(self, tune_text: str) -> list[int]:
        """The plain character-level baseline: ``BOS``, every character of the normalised
        tune, ``EOS``."""
        return [BOS, *self.char_ids(normalize_abc(codes_lines(tune_text)[1])), EOS]

    def decode_flat(self, ids: Sequence[int]) -> str:
        """The text of a flat id sequence (special tokens are skipped)."""
        return "".join(CHARS[i - len(SPECIALS)] for i in ids if i >= len(SPECIALS))

    def token_name(self, token: int) -> str:
        """The special token's name, or the character."""
        return SPECIALS[token] if token < len(SPECIALS) else CHARS[token - len(SPECIALS)]

    def config(self) -> dict:
        """partita's description of this tokenizer, with library versions."""
        versions = {"python": platform.python_version()}
        for package in ("partita", "music21", "symusic"):
            try:
                versions[package] = version(package)
            except PackageNotFoundError:
                versions[package] = "unknown"
        return {"tokenizer": self.name, "format_version": FORMAT_VERSION, "patch_size": self.patch_size,
                "vocab_size": self.vocab_size, "specials": list(SPECIALS), "chars": CHARS,
                "header_fields": list(HEADER_FIELDS), "body_fields": list(BODY_FIELDS), "versions": versions}

    def save(self, folder: str | Path) -> Path:
        """Write ``abc_tokenizer.json`` into ``folder``; returns the file's path."""
        from partita.fileio import write_text_atomic

        path = Path(folder) / TOKENIZER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_text_atomic(path, json.dumps(self.config(), indent=1) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> AbcTokenizer:
        """The tokenizer saved in ``folder`` by :meth:`save` (PartitaError when there is
        none, or its vocabulary or format differs from this partita's)."""
        from partita.errors import PartitaError

        path = Path(folder) / TOKENIZER_FILE
        if not path.exists():
            raise PartitaError(f"{folder}: no ABC tokenizer here (missing {TOKENIZER_FILE})")
        data = json.loads(path.read_text())
        if (data.get("tokenizer") != cls.name or data.get("format_version") != FORMAT_VERSION
                or data.get("chars") != CHARS or tuple(data.get("specials", ())) != SPECIALS):
            raise PartitaError(f"{path}: ABC tokenizer vocabulary or format differs from this partita's")
        return cls(patch_size=int(data["patch_size"]))


# --------------------------------------------------------------------------- control codes


@dataclass(frozen=True)
class ControlCodes:
    """TunesFormer's form controls: the bars of each section and, for each section, its
    similarity (0-10) to each earlier section in order (``similarity[0] == ()``)."""

    bars: tuple[int, ...]
    similarity: tuple[tuple[int, ...], ...]

    @property
    def sections(self) -> int:
        return len(self.bars)


def bar_tokens(bar: str) -> list[tuple[str, str]]:
    """The tokens of ABC music as (kind, text); kinds: quote, deco, field, tuplet, bar, space, other."""
    return [(m.lastgroup or "other", m.group()) for m in _TOKEN.finditer(bar)]


def ends_section(group: str) -> bool:
    """A barline run that closes a section (it holds ``:|``, ``|:``, ``::``, ``||`` or ``|]``),
    unless its last unit starts a variant ending (that ending belongs to the section)."""
    units = bar_units(group)
    if not units or is_variant(units[-1]):
        return False  # an alternative ending follows: it belongs to this section
    return any(s in group for s in (":|", "|:", "::", "||", "|]"))


def sections_of(normalized: str) -> list[list[str]]:
    """The bars of a normalised tune grouped into sections.

    A section ends at a barline run holding ``:|`` ``|:`` ``::`` ``||`` or ``|]``, except
    where a variant ending follows (``:|2``: the second ending belongs to the same
    section) and at the ``|:`` right after a pickup bar that opens the tune (the pickup
    belongs to the first section). Only bars with a note or rest count, pickups included.
    """
    _, body = split_tune(normalized)
    sections: list[list[str]] = [[]]
    seen = 0  # bars with music so far
    for bar in split_bars(body):
        if BODY_FIELD.match(bar):
            continue
        tokens = [t for t in bar_tokens(bar) if t[0] != "space"]
        if tokens and tokens[0][0] == "bar" and "|:" in tokens[0][1] and sections[-1]:
            sections.append([])
        if any(kind == "other" and text in MUSIC for kind, text in tokens):
            sections[-1].append(bar)
            seen += 1
        if tokens and tokens[-1][0] == "bar" and len(tokens) > 1 and ends_section(tokens[-1][1]):
            pickup = seen == 1 and tokens[-1][1] == "|:" and tokens[0][0] != "bar"
            if not pickup:
                sections.append([])
    return [s for s in sections if s]


def levenshtein(a: str, b: str) -> int:
    """Edit distance: insertions, deletions and substitutions of one character."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> int:
    """``floor(10 * (1 - levenshtein(a, b) / max(len(a), len(b))))``: 10 only when equal."""
    longest = max(len(a), len(b))
    if longest == 0:
        return 10
    return (10 * (longest - levenshtein(a, b))) // longest


def control_codes(tune_text: str) -> ControlCodes:
    """S/B/E control codes of a tune (normalised first).

    ``E`` compares the music of two sections: their text without barlines and spaces,
    so ``|:ABcd:|`` and ``ABcd||`` are identical (10).
    """
    secs = sections_of(normalize_abc(codes_lines(tune_text)[1]))
    texts = ["".join(t for b in s for kind, t in bar_tokens(b) if kind not in ("bar", "space")) for s in secs]
    sims = tuple(tuple(similarity(texts[i], texts[j]) for j in range(i)) for i in range(len(texts)))
    return ControlCodes(tuple(len(s) for s in secs), sims)


def format_control_codes(codes: ControlCodes) -> str:
    """The control codes as TunesFormer writes them before the header: ``S:n``, then for
    each section its ``E:`` lines (one per earlier section, first section first) and its
    ``B:`` line: ``S:3 B:4 E:6 B:4 E:10 E:6 B:4`` on separate lines."""
    lines = [f"S:{codes.sections}"]
    for bars, sims in zip(codes.bars, codes.similarity, strict=True):
        lines += [f"E:{s}" for s in sims] + [f"B:{bars}"]
    return "\n".join(lines) + "\n"


def parse_control_codes(text: str) -> ControlCodes:
    """The control codes at the start of ``text`` (the inverse of :func:`format_control_codes`);
    ValueError when they do not start with ``S:`` or disagree with it."""
    lines = [line.strip() for line in codes_lines(text)[0]]
    if not lines or not lines[0].startswith("S:"):
        raise ValueError("control codes must start with an S: line")
    bars: list[int] = []
    sims: list[tuple[int, ...]] = []
    pending: list[int] = []
    for line in lines[1:]:
        if line[0] == "S" or (line[0] == "B" and len(pending) != len(bars)):
            raise ValueError(f"unexpected {line!r} in section {len(bars) + 1}")
        if line[0] == "E":
            pending.append(int(line[2:]))
        else:
            bars.append(int(line[2:]))
            sims.append(tuple(pending))
            pending = []
    if pending or len(bars) != int(lines[0][2:]):
        raise ValueError(f"S:{lines[0][2:]} but {len(bars)} sections described")
    return ControlCodes(tuple(bars), tuple(sims))


def split_control_codes(text: str) -> tuple[ControlCodes | None, str]:
    """(the leading control codes or None, the tune text after them)."""
    lines, rest = codes_lines(text)
    return (parse_control_codes("".join(lines)) if lines else None), rest


def to_score(tune_text: str) -> Score:
    """A Score of an ABC tune through music21 (leading control codes are skipped, an ``X:``
    line is added when missing); InputError when music21 cannot parse it."""
    from partita.score import abc_to_score

    text = codes_lines(tune_text)[1]
    if not re.search(r"^X:", text, flags=re.M):
        text = "X:1\n" + text
    return abc_to_score(text)


# --------------------------------------------------------------------------- corpus
