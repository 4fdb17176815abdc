"""`platoons serve`: the web app, on this machine unless a token guards it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from platoons.errors import InputError


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind; anything but loopback needs --token."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    data: Path = typer.Option(Path("platoons-data"), "--data", help="Folder for saved designs, jobs and results."),
    token: Optional[str] = typer.Option(None, help="Access token every request must carry (or set PLATOONS_TOKEN)."),
    jobs: int = typer.Option(2, min=1, max=64, help="Jobs running at once; more wait in the queue."),
    workers: Optional[int] = typer.Option(None, min=1, help="Worker processes per job (default: cores / jobs)."),
    scheduler: Optional[str] = typer.Option(None, help="Run jobs on the Dask scheduler at this address (tcp://HOST:PORT)."),
    max_runs: int = typer.Option(1000, "--max-runs", min=1, help="Most runs a single job may start."),
    max_queued: int = typer.Option(500, "--max-queued", min=1, help="Most jobs waiting in the queue."),
) -> None:
    """Serve the web app: design, run and compare, share results, and award tenders in the browser."""
    import uvicorn

    from platoons.web.app import create_app
    from platoons.web.settings import TOKEN_VARIABLE, Settings, check_host

    token = token or os.environ.get(TOKEN_VARIABLE) or None
    check_host(host, token)
    if data.exists() and not data.is_dir():
        raise InputError("--data", "DIR", "a folder (it is created if missing)", str(data))
    data.mkdir(parents=True, exist_ok=True)
    settings = Settings(data=data, token=token, jobs=jobs, workers=workers, scheduler=scheduler,
                        executor="dask" if scheduler else "processes", max_runs=max_runs, max_queued=max_queued)
    app = create_app(settings)
    shown = f"[{host}]" if ":" in host else host
    print(f"Platoons is serving at http://{shown}:{port}/ (data in {data}/; stop with Ctrl+C)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
