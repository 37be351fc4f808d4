"""The node's HTTP face: one FastAPI application for Beacon v2, federation, matching and access.

``genomed serve --home DIR --port N`` runs :func:`create_app` under uvicorn. Each sharing module
contributes its own router; this module only assembles them around one :class:`SharingNode`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from genomed import __version__
from genomed.share.beacon.responses import error_response
from genomed.share.beacon.router import router as beacon_router
from genomed.share.federation.router import router as federation_router
from genomed.share.matching.api import router as matching_router
from genomed.share.node import SharingNode


def create_app(node: SharingNode) -> FastAPI:
    """The node's application. Routers are added here, one line per sharing module."""
    app = FastAPI(title=f"genomed node {node.ctx.config.node_name}", version=__version__,
                  description="GA4GH Beacon v2, federation, Matchmaker Exchange and access requests of a genomed node.")
    app.state.sharing = node
    # --- routers (one per module; keep this list sorted) ---
    app.include_router(beacon_router)
    app.include_router(federation_router)
    app.include_router(matching_router)

    @app.exception_handler(StarletteHTTPException)
    async def beacon_shaped_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """A path no router serves (404) or a method it does not take (405), as a Beacon error response.

        The routers answer their own errors; this only catches what routing itself refuses, so that
        a client of the node never sees a bare framework error. ``/match`` keeps MME's plain errors.
        """
        if request.url.path.startswith("/match"):
            return await http_exception_handler(request, exc)
        body = error_response(node.settings.beacon, exc.status_code, str(exc.detail))
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    return app
