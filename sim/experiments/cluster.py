"""Reaching a Dask scheduler for a batch, in bounded time and with one line on failure.

``distributed.Client`` waits without limit for a scheduler's handshake, so a port that accepts
and never answers hung ``sim batch --scheduler`` (still running at 200 s), and a port that answers
junk raised whatever decoding the junk raised (a numpy allocation of 3 EiB). A scheduler speaks
first on a new connection, so a ``tcp://`` address is probed for its first bytes within
:data:`CONNECT_TIMEOUT_S`; the client is then made in a helper thread given up after twice that.
The batch reaches the scheduler before it makes its output folder, so a failure leaves nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sim.config.loader import ConfigError

#: Seconds a Dask scheduler has to accept a connection, and then to answer it.
CONNECT_TIMEOUT_S = 10.0


@contextlib.contextmanager
def scheduler_client(address: str | None) -> Iterator[Any]:
    """A ``distributed.Client`` connected to ``address`` (None without one), closed at the end.
    Every failure is one line within a bounded time: a closed port, a port that accepts and
    never answers, one that answers junk, a malformed address, the extra not installed."""
    if not address:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(f"--scheduler {address}: needs the 'distributed' extra "
                          f"(pip install 'wuhan-circle-sim[distributed]')") from None
    with _quiet_distributed():
        _probe_scheduler(address, CONNECT_TIMEOUT_S)
        client = _bounded(lambda: Client(address, timeout=f"{CONNECT_TIMEOUT_S}s"),
                          2 * CONNECT_TIMEOUT_S, address)
        try:
            yield client
        finally:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                client.close(timeout=5)


def _cannot_reach(address: str, why: str) -> ConfigError:
    return ConfigError(f"--scheduler {address}: cannot reach the Dask scheduler "
                       f"({' '.join(why.split())[:200]})")


def _probe_scheduler(address: str, timeout: float) -> None:
    """Connect to a ``tcp://`` scheduler and wait for its first bytes (a scheduler speaks first,
    with its handshake), so a port that accepts and never answers is found in ``timeout``."""
    import socket

    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme != "tcp":
            return  # TLS and other transports: the client's own timeout bounds them
        host, port = parse_host_port(location)
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            first = sock.recv(1)
    except TimeoutError:
        raise _cannot_reach(address, f"it accepted the connection but sent nothing in "
                                     f"{timeout:g} s: not a Dask scheduler, or a stalled one"
                            ) from None
    except (OSError, ValueError, TypeError) as exc:
        raise _cannot_reach(address, str(exc) or type(exc).__name__) from None
    if not first:
        raise _cannot_reach(address, "it closed the connection without answering")


def _bounded(connect: Callable[[], Any], seconds: float, address: str) -> Any:
    """``connect()`` in a helper thread, given up after ``seconds`` (a scheduler that answers
    the first bytes and then stalls); its errors, junk answers included, are one line."""
    result: dict[str, Any] = {}

    def attempt() -> None:
        try:
            result["client"] = connect()
        except BaseException as exc:  # noqa: BLE001 (junk answers raise anything, even MemoryError)
            result["error"] = exc

    thread = threading.Thread(target=attempt, daemon=True, name="dask-connect")
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise _cannot_reach(address, f"no complete answer in {seconds:g} s")
    if "error" in result:
        exc = result["error"]
        raise _cannot_reach(address, f"{type(exc).__name__}: {exc}") from None
    return result["client"]


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    """``distributed``'s loggers at CRITICAL for the block: a lost or unreachable cluster is
    reported in one line, not in client tracebacks."""
    loggers = [logging.getLogger("distributed")] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
        if name.startswith("distributed.")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
