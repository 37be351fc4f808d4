"""``genomed serve``: run the node's sharing API (Beacon v2, federation, matching) over HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from genomed.cli.common import STATE, console


def serve(
    home: Annotated[str | None, typer.Option("--home", help="Node home (also a global option) [env GENOMED_HOME].")]
        = None,
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind; loopback unless a reverse proxy fronts the node.")]
        = "127.0.0.1",
    log_level: Annotated[str, typer.Option("--access-log-level", help="uvicorn log level.")] = "warning",
) -> None:
    """Serve this node's Beacon v2 API, /federated, /match and access endpoints until interrupted."""
    import uvicorn

    from genomed.node import open_node
    from genomed.share.node import SharingNode
    from genomed.share.server import create_app

    if home is not None:
        STATE.home = home
    ctx = open_node(STATE.home_path())
    try:
        app = create_app(SharingNode.open(ctx))
        console.print(f"node [bold]{ctx.config.node_name}[/] serving on http://{host}:{port}")
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        ctx.close()
