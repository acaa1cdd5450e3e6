"""Work for several callers done in one go: the first call starts at once, and calls made while it runs go
together in the next batch (nothing is kept between batches)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K")
R = TypeVar("R")


class Batched(Generic[K, R]):
    """`await batched(key)` runs `work` on the keys asked for together and returns its result for `key` (None
    when `work` returns None or nothing for it); a batch that fails fails each of its callers. At most `most`
    keys per batch."""

    def __init__(
        self, work: Callable[[list[K]], Awaitable[Mapping[K, R] | None]], name: str, most: int = 100
    ) -> None:
        self._work = work
        self._name = name
        self._most = most
        self._waiting: list[tuple[K, asyncio.Future[R | None]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, key: K) -> R | None:
        answer: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, answer))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name=self._name)
        return await answer

    async def _run(self) -> None:
        batch: list[tuple[K, asyncio.Future[R | None]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
                try:
                    results = await self._work([key for key, _ in batch])
                except Exception as exc:
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                else:
                    for key, answer in batch:
                        if not answer.done():
                            answer.set_result(results.get(key) if results is not None else None)
                batch = []
        finally:
            self._runner = None
            for _, answer in batch:  # stopped while working on them (the loop is closing): outcome unknown
                answer.cancel()
