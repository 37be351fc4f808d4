"""Running the node's application in this process, on a loopback port, for as long as a block lasts.

``genomed serve`` runs the application in the foreground; the demo (and tools that want to show a
node answering over real HTTP without a second process) use :func:`serving` instead.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Literal

import uvicorn
from fastapi import FastAPI

from genomed.errors import ConfigurationError


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(app: FastAPI, port: int = 0, start_timeout: float = 30.0,
            lifespan: Literal["on", "off"] = "on") -> Iterator[str]:
    """``app`` under uvicorn on 127.0.0.1; yields its base URL.

    ``lifespan="on"`` runs the routers' start-up and shutdown as ``genomed serve`` does; ``"off"``
    skips them, for a caller that needs only routes that set themselves up on first use.
    """
    chosen = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=chosen, log_level="warning",
                                           access_log=False, lifespan=lifespan))
    thread = threading.Thread(target=server.run, name="genomed-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise ConfigurationError(f"the node's HTTP server did not start on 127.0.0.1:{chosen}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{chosen}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
