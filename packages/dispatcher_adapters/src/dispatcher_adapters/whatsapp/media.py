"""Customers' media, both halves of the Cloud API's two-step download, with the access token kept here.

* :func:`parse_inbound_media` - the media a webhook body announces (``image``, ``video``, ``audio``,
  ``document``, ``sticker`` messages: Meta's media id, mime type, sha256, caption, filename), for the
  :class:`~dispatcher_core.ports.MediaIndex`.
* :class:`MediaDownloads` - ``GET {base}/{media-id}`` gives a download URL that Meta keeps valid for 5 minutes;
  the URL is cached for :data:`URL_LIFETIME` (a margin under Meta's), then the file is streamed from it with
  the access token. A URL refused on download (expired early) is asked for again once.

The token goes in the ``Authorization`` header of those two requests and nowhere else: not in an error
message, a log line, a returned value. Errors say what happened with Graph's code and HTTP status only.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from dispatcher_adapters.whatsapp.payloads import parse_error
from dispatcher_core.errors import DispatcherError
from dispatcher_core.messaging.media import InboundMedia
from dispatcher_core.ports.clock import Clock

__all__ = ["URL_LIFETIME", "MediaDownloads", "MediaStream", "MediaUnavailable", "parse_inbound_media"]

#: Meta's download URLs live 5 minutes; ours are reused for 4, so none is used as it expires.
URL_LIFETIME = timedelta(minutes=4)
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
_MEDIA_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")
_CHUNK = 64 * 1024


class MediaUnavailable(DispatcherError):
    """Graph would not give the media. ``status`` is what our route answers: 404 when Meta does not know the
    id (or it expired: 7 days after the webhook), 502 when Graph failed. The message never holds the token."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_inbound_media(payload: object, now: datetime) -> list[InboundMedia]:
    """Every media message of a webhook body, across entries and changes; malformed items are skipped."""
    found: list[InboundMedia] = []
    entries = payload.get("entry") if isinstance(payload, Mapping) else None
    for entry in entries if isinstance(entries, list) else ():
        changes = entry.get("changes") if isinstance(entry, Mapping) else None
        for change in changes if isinstance(changes, list) else ():
            value = change.get("value") if isinstance(change, Mapping) else None
            if not isinstance(value, Mapping):
                continue
            metadata = value.get("metadata")
            number = _str(metadata.get("phone_number_id")) if isinstance(metadata, Mapping) else None
            messages = value.get("messages")
            for message in messages if isinstance(messages, list) and number else ():
                media = _media(message, str(number), now)
                if media is not None:
                    found.append(media)
    return found


def _media(message: object, number: str, now: datetime) -> InboundMedia | None:
    if not isinstance(message, Mapping) or message.get("type") not in MEDIA_KINDS:
        return None
    kind = str(message["type"])
    body = message.get(kind)
    customer = _str(message.get("from")) or _str(message.get("from_user_id"))
    wamid = _str(message.get("id"))
    if not isinstance(body, Mapping) or customer is None or wamid is None:
        return None
    media_id = _str(body.get("id"))
    if media_id is None or not _MEDIA_ID.fullmatch(media_id):
        return None
    return InboundMedia(
        media_id=media_id,
        business_number_id=number,
        customer_id=customer,
        external_id=wamid,
        kind=kind,
        received_at=now,
        mime_type=_str(body.get("mime_type")),
        sha256=_str(body.get("sha256")),
        caption=_str(body.get("caption")),
        filename=_str(body.get("filename")),
    )


@dataclass(frozen=True, slots=True)
class _Location:
    url: str
    mime_type: str | None
    file_size: int | None
    expires_at: datetime


@dataclass
class MediaStream:
    """An open download: iterate :meth:`chunks` once (it closes the connection at the end, or when the
    iteration is abandoned), or call :meth:`aclose`."""

    mime_type: str
    size: int | None
    _response: httpx.Response

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes(_CHUNK):
                yield chunk
        finally:
            await self._response.aclose()

    async def aclose(self) -> None:
        await self._response.aclose()


class MediaDownloads:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        access_token: str,
        base_url: str,
        clock: Clock,
        url_lifetime: timedelta = URL_LIFETIME,
        cache_size: int = 1024,
    ) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._lifetime = url_lifetime
        self._cache_size = cache_size
        self._locations: OrderedDict[str, _Location] = OrderedDict()
        #: How many ``GET /{media-id}`` were made (the cache's effect, for tests and curiosity).
        self.lookups = 0

    async def open(self, media_id: str) -> MediaStream:
        """Start downloading ``media_id``: raises :class:`MediaUnavailable` before anything is streamed."""
        if not _MEDIA_ID.fullmatch(media_id):
            raise MediaUnavailable("not a media id", 404)
        for attempt in range(2):
            location = await self._location(media_id, fresh=attempt > 0)
            request = self._client.build_request("GET", location.url, headers=self._headers)
            try:
                response = await self._client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise MediaUnavailable(f"media download failed: {type(exc).__name__}", 502) from None
            if response.is_success:
                mime = response.headers.get("content-type") or location.mime_type or "application/octet-stream"
                length = response.headers.get("content-length")
                size = int(length) if length is not None and length.isdigit() else location.file_size
                return MediaStream(mime_type=mime, size=size, _response=response)
            await response.aclose()
            self._locations.pop(media_id, None)  # expired early, or revoked: ask Graph again once
        raise MediaUnavailable(f"media download refused: HTTP {response.status_code}", 502)

    async def _location(self, media_id: str, *, fresh: bool) -> _Location:
        now = self._clock.now()
        cached = self._locations.get(media_id)
        if cached is not None and not fresh and cached.expires_at > now:
            self._locations.move_to_end(media_id)
            return cached
        self.lookups += 1
        try:
            response = await self._client.get(f"{self._base_url}/{media_id}", headers=self._headers)
        except httpx.HTTPError as exc:
            raise MediaUnavailable(f"media lookup failed: {type(exc).__name__}", 502) from None
        payload = _json(response)
        url = payload.get("url") if isinstance(payload, Mapping) else None
        if not response.is_success or not isinstance(url, str) or not url.startswith(("https://", "http://")):
            error = parse_error(payload, response.status_code)
            # Graph answers an unknown or expired media id with 400/404 (code 100: "does not exist").
            status = 404 if response.status_code in (400, 404) else 502
            raise MediaUnavailable(f"media lookup refused: HTTP {response.status_code}, code {error.code}", status)
        size = payload.get("file_size")
        location = _Location(
            url=url,
            mime_type=_str(payload.get("mime_type")),
            file_size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
            expires_at=now + self._lifetime,
        )
        self._locations[media_id] = location
        while len(self._locations) > self._cache_size:
            self._locations.popitem(last=False)
        return location


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
