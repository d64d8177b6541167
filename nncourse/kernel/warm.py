"""Grading kernels started ahead of need: while one notebook runs, the grading process's next
kernel starts beside it, so the next notebook does not wait for a sandbox and a kernel to
boot (about 1 s, mostly waiting: ``benchmarks/stages.py``, "kernel start").

A warm kernel is sandboxed like any other, has run no cell, and serves exactly one notebook:
never reused, so no student's code runs where another's ran.  Its working directory
(``sandbox.WORK_MOUNT``) stays empty until it is taken; then the notebook's working copy is
copied in (``SandboxedKernelManager.fill_workdir``).  It is used only for a notebook with the
same kernel, arguments and sandbox configuration (``sandbox.generation``) it was started
with, and on the event loop it was started on; otherwise it is stopped and a kernel starts as
before.  Only with the sandbox on: without bwrap a kernel's working directory is the host's,
fixed when it starts.

The grading process owns one ``WarmKernels`` (``grade/task.py: WorkerState``) and hands it to
``BudgetedExecute`` through the nbgrader config; ``close()`` stops the kernel left waiting.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Callable

from jupyter_core.utils import ensure_event_loop

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Waiting:
    km: Any                    # SandboxedKernelManager
    key: tuple                 # what it was started for (kernel, arguments, sandbox generation)
    task: asyncio.Task         # its start: returns its ready client
    loop: asyncio.AbstractEventLoop


async def _start(km, arguments, timeout):
    await km.start_kernel(extra_arguments=arguments)
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=timeout)
    except BaseException:
        kc.stop_channels()
        raise
    return kc


async def _stop(waiting):
    with contextlib.suppress(BaseException):
        kc = await waiting.task
        kc.stop_channels()
    with contextlib.suppress(Exception):
        if waiting.km.has_kernel:
            await waiting.km.shutdown_kernel(now=True)


class WarmKernels:
    """At most one kernel waiting for the next notebook of one grading process."""

    def __init__(self) -> None:
        self._waiting: _Waiting | None = None
        self.taken = 0             # how many notebooks got a warm kernel (tests, benchmarks)

    def __deepcopy__(self, memo):
        # traitlets deep-copies config values: every run must use this one
        return self

    def take(self, key: tuple):
        """The waiting kernel's (manager, ready client) if it was started for ``key`` on this
        thread's event loop and is alive; else None (it is stopped)."""
        waiting, self._waiting = self._waiting, None
        if waiting is None:
            return None
        loop = ensure_event_loop()
        if waiting.key != key or waiting.loop is not loop:
            self._discard(waiting)
            return None
        try:
            kc = loop.run_until_complete(waiting.task)
            alive = loop.run_until_complete(waiting.km.is_alive())
        except Exception as exc:
            log.warning("a kernel started ahead of need did not start (%s): starting one now", exc)
            self._discard(waiting)
            return None
        if not alive:
            log.warning("a kernel started ahead of need died while waiting: starting one now")
            kc.stop_channels()
            self._discard(waiting)
            return None
        self.taken += 1
        return waiting.km, kc

    def start(self, make_manager: Callable[[], Any], key: tuple, arguments: list[str],
              timeout: float) -> None:
        """Start the next kernel (``make_manager()``) in the background, on this thread's event
        loop: it boots while that loop runs the current notebook's cells."""
        if self._waiting is not None:
            self._discard(self._waiting)
            self._waiting = None
        loop = ensure_event_loop()
        km = make_manager()
        self._waiting = _Waiting(km, key, loop.create_task(_start(km, arguments, timeout)), loop)

    def close(self) -> None:
        """Stop the kernel left waiting, if any."""
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self._discard(waiting)

    @staticmethod
    def _discard(waiting: _Waiting) -> None:
        loop = waiting.loop
        waiting.task.cancel()
        try:
            asyncio.get_running_loop()
            running = True
        except RuntimeError:
            running = False
        if not running and not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(_stop(waiting))
        else:            # e.g. a Dask plugin's teardown, on the worker's own loop
            if waiting.task.done() and not waiting.task.cancelled() \
                    and waiting.task.exception() is None:
                waiting.task.result().stop_channels()
            waiting.km.kill_now()
