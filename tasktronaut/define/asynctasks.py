"""Asset tasks written as async generators: the same yields, then an awaited action.

The declaration part of a task (its name, assets and requirements) is read while the graph
is built, synchronously: an async generator is stepped by hand there, which works as long as
it awaits nothing before its last declaring yield (awaiting then would need an event loop in
the middle of a build, and the declaration must be cheap and side-effect free anyway). The
action, the code after the last yield, runs on the run's event loop.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from tasktronaut.errors import ProtocolError


class AsyncTaskGen:
    """An async generator seen through the generator interface the build uses."""

    __slots__ = ("agen", "name")

    def __init__(self, agen: AsyncGenerator[Any, Any], name: str) -> None:
        self.agen = agen
        self.name = name

    def __iter__(self) -> AsyncTaskGen:
        return self

    def __next__(self) -> Any:
        """The next declaring yield, stepped synchronously; ``StopIteration`` at the end."""
        step = self.agen.__anext__()
        try:
            step.send(None)
        except StopIteration as done:
            return done.value
        except StopAsyncIteration:
            raise StopIteration from None
        step.close()
        raise ProtocolError(self.name, "awaited before its last declaring yield; an async "
                            "task may await only in its action, after its requirements")

    def close(self) -> None:
        """Drop the generator's suspended frame (its ``finally`` blocks run)."""
        closing = self.agen.aclose()
        try:
            closing.send(None)
        except (StopIteration, StopAsyncIteration, RuntimeError):
            pass
        else:
            closing.close()

    async def act(self, name: str) -> None:
        """Run the action: the generator to its end; a further yield is a mistake."""
        async for _ in self.agen:
            await self.agen.aclose()
            raise ProtocolError(name, "yielded again after its requirement(s)")


def sync_face(func: Callable[..., AsyncGenerator[Any, Any]]) -> Callable[..., AsyncTaskGen]:
    """Wrap an async generator function so that calling it gives an :class:`AsyncTaskGen`."""

    def call(*args: Any, **kwargs: Any) -> AsyncTaskGen:
        return AsyncTaskGen(func(*args, **kwargs), func.__qualname__)

    call.__wrapped__ = func  # type: ignore[attr-defined]
    return call
