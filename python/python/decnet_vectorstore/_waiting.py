"""Awaiting a store call that is still running in Rust, in whichever event loop awaits it.

A native call that cannot answer at once returns a ``Waiting``; awaiting it lands here. Under
asyncio the task waits on a future of its loop; under trio (directly or through anyio) it
parks itself until the runtime thread that finishes the call reschedules it. Either way the
only cross-thread step is the wake-up, and a cancelled task cancels the Rust call.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any


async def wait(waiting: Any) -> Any:
    """The outcome of ``waiting``: its value, or its exception raised."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        return await _on_asyncio(loop, waiting)
    trio = sys.modules.get("trio")
    if trio is not None and _in_trio(trio):
        return await _on_trio(trio, waiting)
    raise RuntimeError("decnet_vectorstore: store calls are awaited under asyncio or trio (directly or through anyio)")


def _in_trio(trio: Any) -> bool:
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


async def _on_asyncio(loop: asyncio.AbstractEventLoop, waiting: Any) -> Any:
    future = loop.create_future()

    def wake() -> None:  # on a runtime thread
        try:
            loop.call_soon_threadsafe(_finish, future)
        except RuntimeError:  # the loop was closed meanwhile: nobody is waiting
            pass

    if waiting.on_done(wake):
        try:
            await future
        except asyncio.CancelledError:
            waiting.cancel()
            raise
    return waiting.result()


def _finish(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _on_trio(trio: Any, waiting: Any) -> Any:
    lowlevel = trio.lowlevel
    task = lowlevel.current_task()
    token = lowlevel.current_trio_token()
    aborted = False

    def reschedule() -> None:  # on trio's thread
        if not aborted:
            lowlevel.reschedule(task)

    def wake() -> None:  # on a runtime thread
        try:
            token.run_sync_soon(reschedule)
        except trio.RunFinishedError:
            pass

    def abort(_raise_cancel: Any) -> Any:  # on trio's thread
        nonlocal aborted
        aborted = True
        waiting.cancel()
        return lowlevel.Abort.SUCCEEDED

    if waiting.on_done(wake):
        await lowlevel.wait_task_rescheduled(abort)
    return waiting.result()
