"""The servers the HTTP bench measures, each run in a process of its own by ``bench_webhook.py``:

* ``bare`` - the ceiling: a Starlette endpoint that checks ``X-Hub-Signature-256`` and parses the JSON, then
  answers; no store, no dispatcher.
* ``memory`` / ``sqlite`` - the dispatcher app (``create_app``) on that store, exactly as ``dispatcher serve``
  runs it, minus access logs.

    uv run python benches/http/server.py bare --port 8101
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dispatcher_app import create_app
from dispatcher_app.config import AppConfig
from dispatcher_app.webhooks.signature import SIGNATURE_HEADER, signature_matches

APP_SECRET = "bench-app-secret"
ADMIN_TOKEN = "bench-admin-token"
AGENT_SECRET = "bench-agent-token-secret-0123456789abcdef"


def bare_app() -> Starlette:
    async def webhook(request: Request) -> Response:
        body = await request.body()
        if not signature_matches(body, request.headers.get(SIGNATURE_HEADER), APP_SECRET):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        try:
            json.loads(body)
        except ValueError:
            return JSONResponse({"error": "not JSON"}, status_code=400)
        return JSONResponse({"accepted": 1})

    return Starlette(routes=[Route("/webhooks/whatsapp", webhook, methods=["POST"])])


def dispatcher_app(database_url: str) -> Starlette:
    config = AppConfig(
        admin_token=ADMIN_TOKEN,
        agent_token_secret=AGENT_SECRET,
        whatsapp_app_secret=APP_SECRET,
        whatsapp_verify_token="bench",
        database_url=database_url,
    )
    return create_app(config)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["bare", "memory", "sqlite"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        match args.kind:
            case "bare":
                app = bare_app()
            case "memory":
                app = dispatcher_app("memory://")
            case _:
                app = dispatcher_app(f"sqlite:///{Path(directory) / 'bench.sqlite3'}")
        uvicorn.run(
            app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, ws="websockets-sansio"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
