"""Writing music with a FIGARO model: the plan's description of each bar is forced, its
notes are sampled under a chain of named masks, and a planner's plan becomes the
descriptions the model follows.

Each mask builder is a small pure function that returns a bool mask over the joint
vocabulary (True: allowed); :func:`step_mask` composes them for one step inside a bar:

    (grammar & in_bar & instruments & forward_in_meter | bar_end) & no_doubled_note & chord_not_full

The plan object comes from :mod:`partita.compose.plan` (this module takes it as an
argument and never imports ``partita.compose``).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
import torch

from partita.errors import PartitaError
from partita.symbolic.figaro.model import JointVocab
from partita.theory import MONOPHONIC_PROGRAMS
from partita.tokenizers import description as D

MAX_PER_POSITION = 8
"""Most notes the sampler lets start at one position of a bar (all instruments together)."""

MODEL_ROLES = ("melody", "harmony", "melody+comping")
"""Parts the model writes (the corpus has them); drums, bass and comping stay with the arranger."""


class Tables:
    """What the mask builders look up about the REMI ids of a joint vocabulary, built once
    per vocabulary: the grammar's table, and which ids are programs, time signatures,
    positions (and which), pitches, or never inside a bar."""

    def __init__(self, vocab: JointVocab):
        names = [vocab.remi.token_name(i) for i in range(vocab.remi.vocab_size)]
        self.vocab = vocab
        self.table = vocab.remi.grammar.mask_table()
        self.types = vocab.remi.grammar.id_types
        self.start = self.table.shape[0] - 1
        self.program = {int(n.split("_")[1]): i for i, n in enumerate(names) if n.startswith("Program_")}
        self.is_program = np.zeros(vocab.remi.vocab_size, dtype=bool)
        self.is_program[list(self.program.values())] = True
        self.timesig = {n.split("_")[1]: i for i, n in enumerate(names) if n.startswith("TimeSig_")}
        self.position = np.full(vocab.remi.vocab_size, -1)
        for i, n in enumerate(names):
            if n.startswith("Position_"):
                self.position[i] = int(n.split("_")[1])
        self.per_beat = max(vocab.remi.miditok.config.beat_res.values())
        self.is_pitch = np.zeros(vocab.remi.vocab_size, dtype=bool)
        self.is_pitch[[i for i, n in enumerate(names) if n.startswith(("Pitch_", "PitchDrum_"))]] = True
        self.not_in_bar = np.zeros(vocab.remi.vocab_size, dtype=bool)
        for i, n in enumerate(names):
            if n.split("_")[0] in ("Bar", "BOS", "PAD", "EOS", "TimeSig", "Tempo"):
                self.not_in_bar[i] = True

    def joint(self, remi_mask: np.ndarray) -> np.ndarray:
        """A joint-vocabulary mask: ``remi_mask`` over the REMI ids, no description id."""
        m = np.zeros(self.vocab.size, dtype=bool)
        m[: self.vocab.offset] = remi_mask
        return m


# --------------------------------------------------------------------------- mask builders


def grammar_after(t: Tables, prev: int) -> np.ndarray:
    """REMI ids the grammar lets follow ``prev`` (after a description token: what may
    start a sequence)."""
    return t.table[int(t.types[prev])] if prev < t.vocab.offset else t.table[t.start]


def grammar(t: Tables, prev: int) -> np.ndarray:
    """:func:`grammar_after` as a joint-vocabulary mask."""
    return t.joint(grammar_after(t, prev))


def in_bar(t: Tables) -> np.ndarray:
    """REMI ids that may stand inside a bar: no bar line, special, meter or tempo token."""
    return t.joint(~t.not_in_bar)


def instruments_only(t: Tables, instruments: Sequence[int]) -> np.ndarray:
    """Every REMI id but the programs of instruments outside ``instruments`` (General MIDI
    programs, :data:`~partita.tokenizers.description.DRUMS` for drums)."""
    keep = ~t.is_program
    keep[[t.program[-1 if p == D.DRUMS else p] for p in instruments if (-1 if p == D.DRUMS else p) in t.program]] = True
    return t.joint(keep)


def forward_in_meter(t: Tables, meter: str, last_position: int) -> np.ndarray:
    """Every REMI id but the positions past the end of a ``meter`` bar or not after
    ``last_position`` (time never goes back; -1: the bar has no position yet)."""
    beats = int(meter.split("/")[0]) if "/" in meter else 4
    pos = t.position
    return t.joint(~((pos >= 0) & ((pos >= beats * t.per_beat) | (pos <= last_position))))


def bar_end(t: Tables, prev: int, last_bar: bool) -> np.ndarray:
    """The end-of-bar marker (the next description's ``Bar``) where the grammar would allow
    a new bar after ``prev``, and in the last bar EOS too: the model saw a piece's EOS
    rarely, a bar's end in every bar."""
    m = np.zeros(t.vocab.size, dtype=bool)
    if grammar_after(t, prev)[t.vocab.bar_remi]:
        m[t.vocab.bar_desc] = True
        m[t.vocab.remi.eos_id] = last_bar
    return m


def no_doubled_note(t: Tables, at_position: Sequence[int]) -> np.ndarray:
    """Every id but the pitch ids already sounding at this position."""
    m = np.ones(t.vocab.size, dtype=bool)
    m[list(at_position)] = False
    return m


def chord_not_full(t: Tables, at_position: Sequence[int]) -> np.ndarray:
    """No further pitch or program once :data:`MAX_PER_POSITION` notes start at this
    position: time moves on or the bar ends."""
    m = np.ones(t.vocab.size, dtype=bool)
    if len(at_position) >= MAX_PER_POSITION:
        m[: t.vocab.offset][t.is_pitch | t.is_program] = False
    return m


def one_note_at_a_time(t: Tables, sounded: Sequence[int]) -> np.ndarray:
    """Every id but the program tokens of monophonic instruments that already start a note
    at this position (a flute or a fiddle plays no chords)."""
    m = np.ones(t.vocab.size, dtype=bool)
    m[[t.program[p] for p in sounded if p in MONOPHONIC_PROGRAMS and p in t.program]] = False
    return m


def step_mask(t: Tables, prev: int, *, instruments: Sequence[int], meter: str, last_bar: bool,
              last_position: int, at_position: Sequence[int], sounded: Sequence[int] = ()) -> np.ndarray:
    """What may follow ``prev`` inside a bar: the REMI grammar, inside the bar, the bar's
    instruments only, time forward within the meter - or the bar's end; never a doubled
    note, a chord past :data:`MAX_PER_POSITION`, or a second note at once on a monophonic
    instrument (``sounded``: the programs that started a note at this position)."""
    notes = grammar(t, prev) & in_bar(t) & instruments_only(t, instruments) & forward_in_meter(t, meter, last_position)
    return ((notes | bar_end(t, prev, last_bar)) & no_doubled_note(t, at_position) & chord_not_full(t, at_position)
            & one_note_at_a_time(t, sounded))


# --------------------------------------------------------------------------- generation


def bar_tokens(vocab: JointVocab, bar: D.BarDescription, descriptions: bool = True) -> list[int]:
    """The forced description group of one bar (only its ``Bar`` marker for the ablation)."""
    return vocab.desc_ids(D.description_tokens([bar])) if descriptions else [vocab.bar_desc]


def sample_bar(sampler, t: Tables, bar: D.BarDescription, *, last_bar: bool, max_tokens: int) -> None:  # noqa: ANN001
    """Sample the notes of one bar after its forced tokens, until the model ends the bar
    (its end marker is not kept), nothing is allowed, or ``max_tokens`` are written."""
    instruments = bar.instruments or (0,)
    last_position = -1
    at_position: list[int] = []   # pitch ids already sounding at this position
    sounded: list[int] = []       # programs that started a note at this position
    program = None
    programs = {i: p for p, i in t.program.items()}
    for _ in range(max_tokens):
        mask = step_mask(t, sampler.seq[-1], instruments=instruments, meter=bar.meter, last_bar=last_bar,
                         last_position=last_position, at_position=at_position, sounded=sounded)
        tok = sampler.step([lambda _s, m=mask: m])
        if tok is None:
            break
        if tok in (t.vocab.bar_desc, t.vocab.remi.eos_id):
            sampler.seq.pop()
            break
        if tok < t.vocab.offset and t.position[tok] >= 0:
            last_position = int(t.position[tok])
            at_position, sounded = [], []
        elif tok < t.vocab.offset and t.is_program[tok]:
            program = programs[tok]
        elif tok < t.vocab.offset and t.is_pitch[tok]:
            at_position.append(tok)
            if program is not None:
                sounded.append(program)


def generate(model, vocab: JointVocab, attributes: Sequence[str], plan: Sequence[D.BarDescription], *,  # noqa: ANN001
             tempo: float | None = None, config=None, descriptions: bool = True,  # noqa: ANN001
             max_tokens_per_bar: int = 384, progress: bool = False):  # noqa: ANN201 - a Score
    """A score of ``len(plan)`` bars: each bar's description (the plan) is forced, then its
    notes are sampled under the REMI grammar with the bar's instruments only; the meter of
    each bar is forced. Long pieces slide the context (the attributes stay at its start).

    Args:
        model: a FIGARO model (:func:`~partita.symbolic.figaro.model.load`).
        vocab: its vocabulary (:func:`~partita.symbolic.figaro.model.vocab_of`).
        attributes: the piece's attribute tokens (``description.attribute_tokens``).
        plan: one description per bar.
        tempo: the written score's tempo (qpm); None keeps the decoded one.
        config: a :class:`~partita.sampling.SamplingConfig` (its seed makes the piece).
        descriptions: False for an ablation model (only each bar's ``Bar`` marker is forced).
        max_tokens_per_bar: the most tokens sampled in one bar.
        progress: show a progress bar over the bars.

    Raises:
        PartitaError: the plan has no bars.
    """
    from symusic import Tempo
    from tqdm import tqdm

    from partita.sampling import Sampler, SamplingConfig

    if not plan:
        raise PartitaError("the plan has no bars")
    t = Tables(vocab)
    config = config or SamplingConfig()
    generator = torch.Generator().manual_seed(config.seed)
    head = [vocab.remi.bos_id, *vocab.desc_ids(attributes)]
    context = model.config.n_positions
    done_bars: list[list[int]] = []

    def fresh(current: list[int]) -> Sampler:
        kept: list[list[int]] = []
        room = context // 2 - len(head) - len(current)
        for b in reversed(done_bars):
            if sum(map(len, kept)) + len(b) > room:
                break
            kept.insert(0, b)
        s = Sampler(model, head + [tok for b in kept for tok in b] + current, config=config, window=context)
        s.generator = generator
        return s

    sampler = None
    for i, bar in enumerate(tqdm(plan, desc="bars", disable=not progress)):
        current = bar_tokens(vocab, bar, descriptions) + [vocab.bar_remi]
        if bar.meter in t.timesig:
            current.append(t.timesig[bar.meter])
        if sampler is None or len(sampler.seq) + len(current) + max_tokens_per_bar >= context:
            sampler = fresh(current)
        else:
            sampler.force(current)
        start = len(sampler.seq) - len(current)
        sample_bar(sampler, t, bar, last_bar=i == len(plan) - 1, max_tokens=max_tokens_per_bar)
        done_bars.append(sampler.seq[start:])
    remi = [tok for b in done_bars for tok in b if tok < vocab.offset]
    score = clip(vocab.remi.decode(remi), plan)
    if tempo:
        score.tempos.clear()
        score.tempos.append(Tempo(0, qpm=float(tempo)))
    return score


def clip(score, plan: Sequence[D.BarDescription]):  # noqa: ANN001, ANN201 - a Score
    """Notes held past the plan's last bar end with it (a clean ending, the asked length);
    notes starting after it are dropped. Changes ``score`` and returns it."""
    quarters = 0.0
    for bar in plan:
        num, den = (int(x) for x in bar.meter.split("/")) if "/" in bar.meter else (4, 4)
        quarters += 4 * num / den
    end = round(quarters * score.ticks_per_quarter)
    for track in score.tracks:
        kept = [n for n in track.notes if n.time < end]
        for n in kept:
            n.duration = min(n.duration, end - n.time)
        track.notes.clear()
        for n in kept:
            track.notes.append(n)
    return score


# --------------------------------------------------------------------------- from the planner


def descriptions_from_plan(plan, programs: Sequence[int]) -> list[D.BarDescription]:  # noqa: ANN001 - a Plan
    """FIGARO descriptions of the bars of a plan, for the ``programs`` the model writes: the
    plan's meter, chord and instruments; density from the plan's notes per bar (one melody
    at the plan's density, each further part about one note per beat); mean pitch from
    the parts' ranges, a mezzo-forte velocity, the duration that the density implies."""
    from partita.theory import INSTRUMENT_RANGES as RANGES

    num, den = plan.meter
    beats = num * 4 / den
    mids = [sum(RANGES.get(p, (55, 79))) / 2 for p in programs]
    mean_pitch = min(int(np.mean(mids) // D.PITCH_STEP), 128 // D.PITCH_STEP - 1) if mids else None
    out = []
    for bar in plan.bars:
        notes = bar.density + max(0, len(programs) - 1) * beats
        per_part = max(bar.density, 1.0)
        # the description's bins: the number of edges at or below the value
        out.append(D.BarDescription(
            meter=f"{num}/{den}", density=bisect.bisect_right(D.DENSITY_EDGES, notes), mean_pitch=mean_pitch,
            mean_velocity=4, mean_duration=bisect.bisect_right(D.DURATION_EDGES, beats / per_part),
            instruments=tuple(sorted(set(programs) & set(bar.instruments))) or tuple(sorted(set(programs))),
            chord=chord_label(bar.chord)))
    return out


def chord_label(label: str) -> str:
    """A planner chord (``"Eb:maj"``) in the description's spelling, or N (no chord) when
    the description has no such label."""
    from partita.theory import PC_NAMES as ROOTS
    from partita.theory import chord_root_and_intervals as parse_chord

    try:
        root, _ = parse_chord(label)
    except (ValueError, KeyError, IndexError):
        return D.NO_CHORD
    out = f"{ROOTS[root % 12]}:{label.split(':', 1)[1]}" if ":" in label else D.NO_CHORD
    return out if out in D.LABELS else D.NO_CHORD


def write_parts(model, vocab: JointVocab, plan, programs: Sequence[int], *, style: Sequence[str] = (),  # noqa: ANN001
                config=None, descriptions: bool = True):  # noqa: ANN001, ANN201 - a Score
    """The model's parts for ``programs`` over a plan (see :func:`descriptions_from_plan`)."""
    bars = descriptions_from_plan(plan, programs)
    attrs = D.attribute_tokens(key=plan.key if plan.key[1] in D.MODES else (plan.key[0], "major"), meter=plan.meter,
                               tempo=plan.tempo, instruments=programs, bars=len(bars), style=style)
    return generate(model, vocab, attrs, bars, tempo=plan.tempo, config=config, descriptions=descriptions)
