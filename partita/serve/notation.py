"""Scores in notation: a job's MusicXML engraved as SVG pages by verovio (the PyPI wheel,
which carries its own music font, so nothing is fetched), on the server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from partita.errors import PartitaError

# verovio keeps its font resources per thread (a toolkit made on a second thread cannot load
# them): every engraving runs on one thread of its own, with one toolkit made there.
_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="partita-verovio")
_TOOLKIT: list = []
OPTIONS = {
    "pageWidth": 2200,        # tenths of a millimetre at scale 100
    "pageHeight": 60000,      # a tall page: most pieces fit on one, the page scrolls
    "adjustPageHeight": True,
    "scale": 38,
    "pageMarginLeft": 160,    # room for long part names ("Acoustic Grand Piano") on the first system
    "breaks": "auto",
    "header": "none",
    "footer": "none",
    "svgViewBox": True,
}


def engrave(musicxml: Path) -> list[str]:
    """SVG pages of a MusicXML file.

    Raises:
        PartitaError: verovio is missing or cannot read the file.
    """
    return _THREAD.submit(_engrave, musicxml.read_text(encoding="utf-8", errors="replace"), musicxml.name).result()


def _engrave(text: str, name: str) -> list[str]:
    try:
        import verovio
    except ImportError:
        raise PartitaError("notation needs verovio (pip install 'partita[serve]')") from None
    if not _TOOLKIT:
        verovio.enableLog(verovio.LOG_ERROR)   # its import warnings ("Layer 0 cannot be found") are noise
        _TOOLKIT.append(verovio.toolkit())
    toolkit = _TOOLKIT[0]
    toolkit.setOptions(OPTIONS)
    if not toolkit.loadData(text):
        raise PartitaError(f"{name}: verovio could not read this MusicXML")
    return [toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1)]
