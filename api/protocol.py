"""The HTTP/1.1 connection: uvicorn's httptools protocol with limits on a request's head.

uvicorn waits for a request's line and headers as long and as far as the client likes
(httptools has no header size limit, and a fresh connection has no timeout), and answers
a malformed request in plain text. Here:

- the request line and headers may take at most ``max_header_bytes`` (431 beyond),
- and must arrive within ``header_seconds`` of the connection opening, or of the first
  byte of the next request on a kept-alive connection (408, then the connection closes),
- a request that is not HTTP/1.1 (a NUL, CR or other control character in a header, a bad
  request line) is a 400: all three answered as RFC 9457 problems.

``casetrack serve`` sets the limits from ``CASETRACK_HTTP_MAX_HEADER_BYTES`` and
``CASETRACK_HTTP_HEADER_SECONDS`` (core/settings.py) through ``configure``.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.problems import MEDIA_TYPE, problem_type


def problem_bytes(status: int, title: str, detail: str) -> bytes:
    """A whole HTTP/1.1 response carrying an RFC 9457 problem; the connection closes."""
    body = json.dumps(
        {"type": problem_type(title), "title": title, "status": status, "detail": detail}
    ).encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"content-type: {MEDIA_TYPE}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


LINGER = 1.0  # seconds a refused connection is drained before it closes


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a refused request."""


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a byte and a time limit on every request head."""

    max_header_bytes: int = 16_384
    header_seconds: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = False  # between a request's first byte (or the connect) and its headers
        self._head_bytes = 0  # received while the head is incomplete
        self._head_size = 0  # of the request line and the headers parsed so far
        self._head_timer: asyncio.TimerHandle | None = None
        self._draining = False

    # --- the head's clock ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0
        if not self._in_head:
            self._start_head()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_head()
        if self._head_size > self.max_header_bytes:
            self._too_large()
            raise _Refused  # stops the parser: no request reaches the app
        super().on_headers_complete()

    def _start_head(self) -> None:
        self._in_head, self._head_bytes = True, 0
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_seconds, self._head_timeout)

    def _stop_head(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self._head_bytes == 0 and self.cycle is None:  # nothing asked: just hang up
            self.transport.close()
            return
        self._refuse(
            408,
            "request timeout",
            f"the request line and headers did not arrive within {self.header_seconds:g} s",
            linger=0,
        )

    # --- the head's size ----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._draining:
            return  # after a refusal: read and drop what the client still sends
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            # a head still incomplete (httptools buffers a long header whole before it
            # calls on_header): count what arrived. A chunk that ends a pipelined request
            # and starts the next counts whole, a slight overcount.
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._too_large()

    def _too_large(self) -> None:
        self._refuse(
            431,
            "request header fields too large",
            f"the request line and headers exceed {self.max_header_bytes:,} bytes",
        )

    # --- answers ------------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        if self._draining:
            return
        # httptools refused the bytes: a control character (NUL, CR...) in a header, a bad
        # request line or chunk size. Said as a problem, like every other error.
        self._refuse(
            400,
            "malformed request",
            "the request is not valid HTTP/1.1 (for example a NUL, CR or other control "
            "character in a header)",
        )

    def _refuse(self, status: int, title: str, detail: str, *, linger: float = LINGER) -> None:
        """Answer with a problem and hang up; with ``linger``, first drop what the client is
        still sending for a moment, so that closing with unread bytes (a TCP reset) does not
        destroy the answer before the client reads it."""
        self._stop_head()
        self.logger.warning("refused a request from %s: %s %s", _peer(self.client), status, title)
        if self.cycle is None or self.cycle.response_complete:
            # (behind a pipelined request still being answered, only hang up)
            self.transport.write(problem_bytes(status, title, detail))
        if linger <= 0 or not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._draining = True
        self.loop.call_later(linger, self.transport.close)


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "unknown"


def configure(*, max_header_bytes: int, header_seconds: float) -> type[GuardedHttpProtocol]:
    """Set the limits of this process's connections; the class for uvicorn's ``http=``."""
    GuardedHttpProtocol.max_header_bytes = max_header_bytes
    GuardedHttpProtocol.header_seconds = header_seconds
    return GuardedHttpProtocol
