"""A minimal fake Cloud API for the outbox bench, run in its own process: answers every
``POST /{version}/{number}/messages`` with a success and a fresh wamid.

    python benches/outbox/fake_cloud_api.py PORT
"""

from __future__ import annotations

import itertools
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_ids = itertools.count(1)


async def messages(request: Request) -> Response:
    body = await request.json()
    return JSONResponse(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
            "messages": [{"id": f"wamid.bench.{next(_ids)}"}],
        }
    )


app = Starlette(routes=[Route("/{version}/{number}/messages", messages, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
