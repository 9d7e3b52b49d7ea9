"""Piano rolls of one generated piece per corpus style (docs/rolls/<style>.png and .mid), as
``partita generate`` writes them (seed 0): ``python scripts/style_rolls.py``."""

from __future__ import annotations

from pathlib import Path

PROMPTS = {
    "jig": "a lively jig in D major for fiddle and guitar, 16 bars",
    "reel": "a fast reel in G major for flute and accordion, 16 bars",
    "hornpipe": "a hornpipe in D major for fiddle, 16 bars",
    "slip_jig": "a slip jig in E minor for tin whistle and harp, 16 bars",
    "german_folk": "a German folk song in F major for voice and piano, 16 bars",
    "chorale": "a Bach chorale in G major for choir, 8 bars",
}


def main() -> None:
    import torch

    from partita.compose.text_to_midi import generate
    from partita.pianoroll import plot
    from partita.score import write

    torch.set_num_threads(1)
    out = Path("docs/rolls")
    out.mkdir(parents=True, exist_ok=True)
    for style, prompt in PROMPTS.items():
        gen = generate(prompt, seed=0)
        write(gen.score, out / f"{style}.mid")
        m = "" if gen.musicality is None else f", {gen.musicality:.2f} in the {gen.style} band"
        plot(gen.score, out / f"{style}.png", title=f'"{prompt}" (seed 0{m})')
        print(style, gen.report.score, gen.musicality, gen.parts)


if __name__ == "__main__":
    main()
