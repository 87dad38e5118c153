"""Ask a probe until it gives the awaited status (or time runs out): health checks change state
a moment after what they watch does."""

from __future__ import annotations

import asyncio
import time

import httpx


async def answer_until(
    http: httpx.AsyncClient, path: str, status: int, timeout: float = 30
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = await http.get(path)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.5)
