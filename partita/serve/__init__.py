"""The web workbench: ``partita serve`` starts a page where a person composes, listens, edits
and exports, over a REST API of jobs that any client can use.

- :mod:`partita.serve.app`: the ASGI app (FastAPI): routes, uploads, the page.
- :mod:`partita.serve.queue`: the bounded job queue and its one warm worker process.
- :mod:`partita.serve.worker`: the worker's loop over :func:`partita.jobs.run_job`.
- :mod:`partita.serve.notation`: MusicXML to SVG with verovio.
- ``static/``: the page (plain HTML, JS and CSS; nothing fetched from the network).
"""

from __future__ import annotations

from typing import Any


def serve(host: str = "127.0.0.1", port: int = 8000, **settings: Any) -> None:
    """Run the workbench with uvicorn until interrupted.

    Args:
        host: the address to listen on (127.0.0.1: this machine only).
        port: the port.
        **settings: fields of :class:`partita.serve.app.Settings`.
    """
    import uvicorn

    from partita.serve.app import Settings, create_app

    app = create_app(Settings(**settings))
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
