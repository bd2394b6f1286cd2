"""A fake provincial LGSP (the data-sharing platform a province puts in front of its systems): an OAuth2
client-credentials token endpoint, and a forwarding endpoint that lets through only calls carrying a
token it issued, dropping that token before it forwards (the system behind it never sees it)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI, Request
from fastapi.security import HTTPBasic
from starlette.responses import JSONResponse, Response

FORWARDED = ("content-type", "idempotency-key", "x-loa-exchange-key", "user-agent")


@dataclass
class FakeLgsp:
    target: str  # the base URL it forwards to (a system's /api/exchange/v1)
    client_id: str = "loa-tinh-quang-ngai"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    issued: list[str] = field(default_factory=list)
    forwarded: list[tuple[str, int]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()
        basic = HTTPBasic(auto_error=False)

        @app.post("/token")
        async def token(request: Request) -> Response:
            credentials = await basic(request)
            form = await request.form()
            if (
                credentials is None
                or (credentials.username, credentials.password) != (self.client_id, self.client_secret)
                or form.get("grant_type") != "client_credentials"
            ):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            self.issued.append(secrets.token_hex(16))
            return JSONResponse({"access_token": self.issued[-1], "token_type": "Bearer", "expires_in": 3600})

        @app.post("/forward/{path:path}")
        async def forward(path: str, request: Request) -> Response:
            scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or given not in self.issued:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
            async with httpx.AsyncClient() as client:
                answer = await client.post(
                    f"{self.target}/{path}", content=await request.body(), headers=headers
                )
            self.forwarded.append((path, answer.status_code))
            return Response(
                answer.content, status_code=answer.status_code, media_type=answer.headers.get("content-type")
            )

        return app
