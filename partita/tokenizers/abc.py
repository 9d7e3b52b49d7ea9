"""ABC for a TunesFormer-style model: normalised tunes, bar patches, form control codes.

Wu et al. 2023, "TunesFormer: Forming Irish tunes with control codes by bar patching".

* :func:`normalize_abc` keeps the header fields that shape the music (M, L, Q, R, then K)
  and the body as one line of bars; titles, lyrics, comments and other fields go.
* A tune is cut into *patches*: each header field is one, each bar another (a bar longer
  than :data:`PATCH_SIZE` characters continues in the next patch). Characters are the
  vocabulary, so a model can work at the patch level and inside each patch.
* :func:`control_codes` computes ``S:`` (sections), ``B:`` (bars per section) and ``E:``
  (how similar each section is to each earlier one, 0-10), placed before the header.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from symusic import Score

from partita.tokenizers.grammar import Grammar

PATCH_SIZE = 32
KEPT_FIELDS = ("M", "L", "Q", "R")  # in this order, then K (ABC wants K last)
SPECIALS = ("<pad>", "<bos>", "<eos-patch>", "<eos>")
PAD, BOS, EOS_PATCH, EOS = range(4)
CHARS = "\n" + "".join(chr(c) for c in range(32, 127))
BARLINE = re.compile(r"(?::*\|+\]?:*|\[\||::)(?:\d+(?:[,-]\d+)*)?")
SECTION_END = ("|]", "||", ":|", "::")


def _default_unit(meter: str) -> str:
    """ABC's default note length: 1/16 when the meter is below 3/4, else 1/8."""
    m = meter.strip()
    if m in ("C", "C|", "none", ""):
        return "1/8"
    try:
        value = Fraction(m.split()[0])
    except (ValueError, ZeroDivisionError):
        return "1/8"
    return "1/16" if value < Fraction(3, 4) else "1/8"


def normalize_abc(tune_text: str) -> str:
    """The normalised text of one tune: ``M L Q R`` fields (those present), ``K``, and the
    body as one line of bars with single spaces, ending in a newline.

    Raises:
        ValueError: the tune has no ``K:`` field.
    """
    fields: dict[str, str] = {}
    key = None
    body: list[str] = []
    for raw in tune_text.splitlines():
        line = raw.split("%", 1)[0].rstrip() if not raw.startswith("%%") else ""
        if not line.strip():
            continue
        m = re.match(r"^([A-Za-z]):(.*)$", line)
        if key is None:
            if m:
                letter, value = m.group(1), m.group(2).strip()
                if letter == "K":
                    key = value
                elif letter in KEPT_FIELDS and letter not in fields:
                    fields[letter] = value
            continue
        if m and m.group(1) in ("w", "W", "T", "P", "N", "Z", "C", "O", "S", "H", "B", "D", "F", "G", "I", "X"):
            continue
        if m and m.group(1) in ("M", "L", "K", "Q"):
            body.append(f"[{m.group(1)}:{m.group(2).strip()}]")  # an inline field keeps one stream
            continue
        body.append(line.rstrip("\\").strip())
    if key is None:
        raise ValueError("the tune has no K: field")
    if "L" not in fields:
        fields["L"] = _default_unit(fields.get("M", "4/4"))
    text = "".join(c for c in " ".join(body) if c in CHARS)
    text = re.sub(r"\s+", " ", text).strip()
    header = "".join(f"{f}:{_ascii(fields[f])}\n" for f in KEPT_FIELDS if f in fields)
    return f"{header}K:{_ascii(key)}\n{text}\n"


def _ascii(value: str) -> str:
    """Characters outside the vocabulary (accents in an R: field) are dropped."""
    return "".join(c for c in value if c in CHARS and c != "\n").strip()


def split_tune(normalized: str) -> tuple[list[str], str]:
    """(header lines with their newlines, body without its final newline) of a normalised tune."""
    lines = normalized.split("\n")
    k = next(i for i, line in enumerate(lines) if line.startswith("K:"))
    header = [line + "\n" for line in lines[: k + 1]]
    return header, "\n".join(lines[k + 1:]).rstrip("\n")


def split_bars(body: str) -> list[str]:
    """The bars of a body, each ending with the barline that closes it (the text after the
    last barline is a bar of its own). Concatenating the bars gives the body back."""
    bars, start = [], 0
    for m in BARLINE.finditer(body):
        if m.start() == 0 and m.group(0) in ("|:", "[|"):
            continue  # an opening repeat belongs to the first bar
        bars.append(body[start:m.end()])
        start = m.end()
    if start < len(body):
        bars.append(body[start:])
    return [b for b in bars if b]


def patches(normalized: str) -> list[str]:
    """Header fields, then bars, each cut into pieces of at most PATCH_SIZE characters; the
    body's final newline is the last patch."""
    header, body = split_tune(normalized)
    out = []
    for piece in header + split_bars(body) + ["\n"]:
        out += [piece[i:i + PATCH_SIZE] for i in range(0, len(piece), PATCH_SIZE)]
    return out


class AbcTokenizer:
    """Characters as ids (4 specials + newline + printable ASCII), grouped in patches."""

    name = "abc"
    vocab_size = len(SPECIALS) + len(CHARS)

    def __init__(self) -> None:
        self._index = {c: i + len(SPECIALS) for i, c in enumerate(CHARS)}
        types = ["pad", "bos", "eos-patch", "eos"] + ["char"] * len(CHARS)
        self.grammar = Grammar.from_token_types(types, {
            "bos": {"char"}, "char": {"char", "eos-patch"}, "eos-patch": {"char", "eos"},
            "eos": {"pad"}, "pad": {"pad"}}, start={"bos"})

    def _ids(self, text: str) -> list[int]:
        try:
            return [self._index[c] for c in text]
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} is not in the ABC vocabulary") from None

    def encode(self, tune_text: str) -> list[list[int]]:
        """Patches of ids of a tune (normalised first); each patch ends with EOS_PATCH."""
        return [self._ids(p) + [EOS_PATCH] for p in patches(normalize_abc(tune_text))]

    def decode(self, patch_ids: list[list[int]]) -> str:
        return "".join(self.token_name(i) for p in patch_ids for i in p if i >= len(SPECIALS))

    def flatten(self, patch_ids: list[list[int]]) -> list[int]:
        """One stream: BOS, the patches, EOS (what the grammar describes)."""
        return [BOS, *(i for p in patch_ids for i in p), EOS]

    def encode_flat(self, tune_text: str) -> list[int]:
        """The plain character-level baseline: BOS, every character, EOS."""
        return [BOS, *self._ids(normalize_abc(tune_text)), EOS]

    def decode_flat(self, ids: list[int]) -> str:
        return "".join(self.token_name(i) for i in ids if i >= len(SPECIALS))

    def token_name(self, token: int) -> str:
        return SPECIALS[token] if token < len(SPECIALS) else CHARS[token - len(SPECIALS)]

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / "abc_tokenizer.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"tokenizer": self.name, "patch_size": PATCH_SIZE, "specials": SPECIALS,
                                    "chars": CHARS, "kept_fields": KEPT_FIELDS}, indent=1))
        return path

    @classmethod
    def load(cls, folder: str | Path) -> AbcTokenizer:
        from partita.errors import PartitaError

        path = Path(folder) / "abc_tokenizer.json"
        if not path.exists():
            raise PartitaError(f"{path}: no ABC tokenizer in this checkpoint")
        data = json.loads(path.read_text())
        if data.get("chars") != CHARS or data.get("patch_size") != PATCH_SIZE:
            raise PartitaError(f"{path}: ABC tokenizer config differs from this partita's")
        return cls()


# --------------------------------------------------------------------------- control codes


@dataclass(frozen=True)
class ControlCodes:
    """TunesFormer's form controls: bars per section, and each section's similarity (0-10)
    to every earlier section."""

    bars: tuple[int, ...]
    similarity: tuple[tuple[int, ...], ...]

    @property
    def sections(self) -> int:
        return len(self.bars)


def sections_of(normalized: str) -> list[list[str]]:
    """The bars of a normalised tune grouped into sections, split at ``|:`` ``:|`` ``||``
    ``|]`` and ``::``."""
    _, body = split_tune(normalized)
    sections: list[list[str]] = [[]]
    for bar in split_bars(body):
        if bar.lstrip().startswith("|:") and sections[-1]:
            sections.append([])
        if re.search(r"[A-Ga-gz]", bar):  # bars with notes or rests count
            sections[-1].append(bar)
        tail = BARLINE.findall(bar)
        if tail and any(tail[-1].startswith(e) or e in tail[-1] for e in SECTION_END):
            sections.append([])
    return [s for s in sections if s]


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of one character)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> int:
    """10 · (1 - edit distance / longer length), rounded: 10 for identical strings."""
    if not a and not b:
        return 10
    return round(10 * (1 - levenshtein(a, b) / max(len(a), len(b))))


def control_codes(tune_text: str) -> ControlCodes:
    """S/B/E control codes of a tune (normalised first)."""
    secs = sections_of(normalize_abc(tune_text))
    # compare the music only: barlines, repeat signs and spaces do not count
    texts = [re.sub(r"\s+", "", BARLINE.sub("", "".join(s))) for s in secs]
    sims = tuple(tuple(similarity(texts[i], texts[j]) for j in range(i)) for i in range(len(texts)))
    return ControlCodes(tuple(len(s) for s in secs), sims)


def format_control_codes(codes: ControlCodes) -> str:
    """``S:n`` then, per section, ``B:bars`` and (from the second) ``E:`` its similarity to
    each earlier section, space-separated. These lines go before the header."""
    lines = [f"S:{codes.sections}"]
    for i, bars in enumerate(codes.bars):
        lines.append(f"B:{bars}")
        if i:
            lines.append("E:" + " ".join(str(s) for s in codes.similarity[i]))
    return "\n".join(lines) + "\n"


def parse_control_codes(text: str) -> ControlCodes:
    """The inverse of :func:`format_control_codes` (other lines are ignored)."""
    bars: list[int] = []
    sims: list[tuple[int, ...]] = []
    for line in text.splitlines():
        if line.startswith("B:"):
            bars.append(int(line[2:]))
            if len(bars) == 1:
                sims.append(())
        elif line.startswith("E:"):
            sims.append(tuple(int(x) for x in line[2:].split()))
    return ControlCodes(tuple(bars), tuple(sims))


def to_score(tune_text: str) -> Score:
    """A Score of an ABC tune, through music21 (an ``X:`` line is added when missing)."""
    from partita.score import abc_to_score

    text = tune_text if re.search(r"^X:", tune_text, flags=re.M) else "X:1\n" + tune_text
    return abc_to_score(text)
