"""The one I/O seam of the connector: posting JSON to another system (``Transport``: ``HttpTransport``
over httpx in production; tests pass a fake or wrap the real one to cut the link), and the OAuth2
client-credentials token of a provincial LGSP in front of the systems we call."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from loa.settings import Settings


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


class TransportError(Exception):
    """No answer at all: refused, cut, timed out."""


class Transport(Protocol):
    def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> Reply: ...

    def post_form(self, url: str, *, form: Mapping[str, str], auth: tuple[str, str]) -> Reply: ...


class HttpTransport:
    def __init__(self, timeout_s: float) -> None:
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> Reply:
        try:
            response = self._client.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as err:
            raise TransportError(f"{type(err).__name__}: {err}") from err
        return Reply(response.status_code, response.content)

    def post_form(self, url: str, *, form: Mapping[str, str], auth: tuple[str, str]) -> Reply:
        try:
            response = self._client.post(url, data=dict(form), auth=auth)
        except httpx.HTTPError as err:
            raise TransportError(f"{type(err).__name__}: {err}") from err
        return Reply(response.status_code, response.content)

    def close(self) -> None:
        self._client.close()


@dataclass
class LgspToken:
    """An OAuth2 client-credentials token of the LGSP, kept until shortly before it expires."""

    token_url: str
    client_id: str
    client_secret: str
    _token: str = ""
    _until: float = 0.0
    fetched: int = 0  # how many tokens were asked for (the tests look)

    def get(self, transport: Transport) -> str:
        if self._token and time.monotonic() < self._until:
            return self._token
        reply = transport.post_form(
            self.token_url,
            form={"grant_type": "client_credentials"},
            auth=(self.client_id, self.client_secret),
        )
        if reply.status != 200:
            raise TransportError(f"LGSP token endpoint answered {reply.status}")
        try:
            data = json.loads(reply.body)
            token, lifetime = str(data["access_token"]), float(data.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as err:
            raise TransportError("LGSP token endpoint answered without a token") from err
        self._token, self._until = token, time.monotonic() + max(0.0, lifetime - 30)
        self.fetched += 1
        return token

    def forget(self) -> None:
        self._token, self._until = "", 0.0


def lgsp_from(settings: Settings) -> LgspToken | None:
    if not settings.exchange_lgsp_token_url:
        return None
    secret = settings.exchange_lgsp_client_secret
    return LgspToken(
        settings.exchange_lgsp_token_url,
        settings.exchange_lgsp_client_id,
        secret.get_secret_value() if secret else "",
    )
