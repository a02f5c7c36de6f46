"""A server in a forked process for the benchmarks that need a peer on the other core.

With two or more CPUs the server and the client each get their own (the venue is another
machine); otherwise the scheduler may run the server inside the client's write (a woken
process preempting the writer) and charge its work to the client. ``BENCH_NO_PIN=1`` turns
the pinning off.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import platform
import signal
import warnings
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPU = CPUS[-1] if len(CPUS) > 1 and not os.environ.get("BENCH_NO_PIN") else None

#: ``serve(ready, commands)``: send what the client needs (its ports) on ``ready``, serve
#: until ``commands`` receives "stop".
Serve = Callable[[Connection, Connection], None]


def pin_server() -> None:
    """In the child: run on the server's CPU."""
    if SERVER_CPU is not None:
        os.sched_setaffinity(0, {SERVER_CPU})


@contextlib.contextmanager
def forked_server(serve: Serve, *, start_timeout_s: float) -> Iterator[Any]:
    """Fork ``serve``, pin this process off its CPU, yield what it sent when ready, and stop
    it (SIGKILL if it does not stop within 5 s)."""
    ctx = multiprocessing.get_context("fork")
    ready_rx, ready_tx = ctx.Pipe(duplex=False)
    cmd_rx, cmd_tx = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=serve, args=(ready_tx, cmd_rx), daemon=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
        proc.start()
    if SERVER_CPU is not None:
        os.sched_setaffinity(0, set(CPUS) - {SERVER_CPU})
    try:
        if not ready_rx.poll(start_timeout_s):
            raise RuntimeError("the benchmark's server did not start")
        yield ready_rx.recv()
    finally:
        os.sched_setaffinity(0, set(CPUS))
        cmd_tx.send("stop")
        proc.join(5)
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo), for the results a benchmark writes."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What a run ran on: CPU, cores, Python, platform."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}
