"""Async asset tasks: a hundred downloads that wait on the network at the same time.

Each task is an async generator: it declares its name, its asset (a file) and what it
requires, like any task; its action awaits. All the actions of a run share one event loop,
at most ``async_limit`` at a time. Run it twice: the second run finds every file there and
does nothing.

    python examples/async_fetch.py /tmp/pages
    python examples/async_fetch.py /tmp/pages --arun   # awaited on the caller's loop
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from tasktronaut import Asset, collection, logcfg, task


async def download(url: str) -> str:
    """Stands in for an HTTP client (``await client.get(url)``): 100 ms of waiting."""
    await asyncio.sleep(0.1)
    return f"<html>{url}</html>"


@task(retries=2)
async def page(folder: Path, n: int):
    """One downloaded page."""
    path = folder / f"page-{n:03}.html"
    yield f"Page {n}"
    yield Asset(path, path.exists)
    yield None
    path.write_text(await download(f"https://example.org/{n}"))


@collection
def site(folder: Path, pages: int):
    """Every page of the site."""
    yield "The site"
    yield [page(folder, n) for n in range(pages)]


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "pages")
    folder.mkdir(parents=True, exist_ok=True)
    logcfg()
    started = time.monotonic()
    if "--arun" in sys.argv:  # an application on asyncio awaits the run instead
        root = asyncio.run(site.build(folder, 100).arun(async_limit=50))
    else:
        root = site.build(folder, 100).run(async_limit=50)
    print(f"{'ready' if root.ready else 'not ready'} in {time.monotonic() - started:.1f}s")
    sys.exit(0 if root.ready else 1)
