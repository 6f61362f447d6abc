"""A scripted HTTP server on 127.0.0.1: the scaffolding both fake model APIs stand on.

Why a real server and not an injected transport: the providers are tested through the real
`anthropic` SDK and real httpx (STYLE pattern 7), so their connection pool, SSE decoder,
timeouts and error mapping run exactly as they would against the real API.

Why a FIFO script: a test states the replies it expects to be asked for, in order, and then
reads back every request the client made. Nothing is guessed: a request the test did not script
gets a 500 that says so (and is listed in `unscripted`) instead of hanging the test. A client's
housekeeping (probes, session titles) need not be scripted: an `aside` responder answers it.

Replies are plain values (`JsonReply`, `TextReply`, `SSEReply`, `Disconnect`), a `delayed(...)`
wrapper, or a callable that builds one of those from the `RecordedRequest` (how the API fakes
answer a streamed request with SSE and a plain one with JSON from a single scripted entry).
"""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self, TypeAlias
from urllib.parse import urlsplit

CHARS_PER_TOKEN = 4
"""The fakes' tokenizer: about four characters of request JSON per token, like English text."""

SSEFrame: TypeAlias = tuple[str | None, str]
"""One server-sent event: (`event:` name or None for a bare `data:` line, data text)."""


@dataclass(frozen=True)
class RecordedRequest:
    """What the client sent: header names lower-cased, `body` parsed from JSON (None if not JSON).

    `path` has no query string (`/v1/messages`); `query` holds it (`beta=true`), so a client
    that adds one still reaches the route.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: Any
    raw_body: bytes

    @property
    def json(self) -> dict[str, Any]:
        """The JSON object body; fails loudly when the request had none."""
        if not isinstance(self.body, dict):
            raise AssertionError(f"{self.method} {self.path} had no JSON object body: {self.raw_body!r}")
        return self.body

    @property
    def streaming(self) -> bool:
        """True when the client asked for a streamed reply (`"stream": true`)."""
        return isinstance(self.body, dict) and self.body.get("stream") is True


@dataclass(frozen=True)
class JsonReply:
    """A complete JSON response; `delay` seconds pass before the status line is sent."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class TextReply:
    """A complete non-JSON response (a CI log, a plain-text 429); no body at all for 204 and 304."""

    body: str | bytes
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class SSEReply:
    """A `text/event-stream` response, chunked and flushed frame by frame."""

    frames: Sequence[SSEFrame]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    frame_delay: float = 0.0


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without answering, as a crashed proxy or a reset socket would."""

    delay: float = 0.0


WireReply: TypeAlias = JsonReply | TextReply | SSEReply | Disconnect


@dataclass(frozen=True)
class Delayed:
    """Any script entry, answered only after `seconds` (the client's timeout fires first)."""

    entry: ScriptEntry
    seconds: float


ScriptEntry: TypeAlias = "WireReply | Delayed | Callable[[RecordedRequest], ScriptEntry]"


def estimate_tokens(text: str) -> int:
    """Tokens a fake charges for `text` (at least 1, so usage is never all zeros)."""
    return max(1, len(text) // CHARS_PER_TOKEN)


def split_text(text: str, parts: int = 3) -> list[str]:
    """`text` in a few consecutive pieces, as a model streams it (none for an empty text)."""
    size = max(1, -(-len(text) // parts))
    return [text[start : start + size] for start in range(0, len(text), size)]


def delayed(entry: ScriptEntry, seconds: float) -> Delayed:
    """Wrap `entry` so the server waits `seconds` before answering (for client timeouts)."""
    return Delayed(entry, seconds)


def error_reply(
    status: int, body: Any, *, retry_after: float | None = None, headers: Mapping[str, str] | None = None
) -> JsonReply:
    """An error status with a JSON body and, when given, a `Retry-After` header in seconds."""
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["retry-after"] = f"{retry_after:g}"
    return JsonReply(body, status=status, headers=all_headers)


class FakeServer:
    """A threaded HTTP server with a reply script and a request log; subclasses speak one API.

    Subclasses set `routes` (the (method, path) pairs the API serves; anything else gets a 404
    without consuming the script) and `_error(status, message)` (an error in the API's own JSON
    shape, so the client's error mapping is exercised even for the fake's own complaints).
    A stateful fake whose paths carry ids overrides `_serves` (which requests reach the script)
    and `_fallback` (what answers when the script is empty: its in-memory API instead of a 500).
    """

    routes: ClassVar[frozenset[tuple[str, str]]] = frozenset()

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        """The address `start` binds: another one than loopback serves other network namespaces."""
        self._lock = threading.Lock()
        self._script: deque[ScriptEntry] = deque()
        self._requests: list[RecordedRequest] = []
        self._unscripted: list[RecordedRequest] = []
        self._cancel = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.default_reply: ScriptEntry | None = None
        """Answered whenever the script is empty (e.g. a benchmark's thousands of calls); None = 500."""
        self.aside: Callable[[RecordedRequest], ScriptEntry | None] | None = None
        """Asked first about every request; what it answers bypasses routes and script (None = no)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind an OS-assigned port on `host` (127.0.0.1) and serve from a daemon thread."""
        if self._httpd is not None:
            return self
        self._cancel = threading.Event()
        self._httpd = _HTTPServer((self.host, 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake any handler still waiting out a delay, and free the port."""
        self._cancel.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The server root, e.g. `http://127.0.0.1:54321` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    # -- script and log ----------------------------------------------------------------------

    def enqueue(self, *entries: ScriptEntry) -> None:
        """Append replies to the script; each request to a served route takes the next one."""
        with self._lock:
            self._script.extend(entries)

    def reset(self) -> None:
        """Forget script, log, default and aside; drop connections still waiting out an old delay."""
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self._unscripted.clear()
            self.default_reply = self.aside = None
            self._cancel.set()
            self._cancel = threading.Event()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the last reset, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError(f"{type(self).__name__} received no request")
            return self._requests[-1]

    @property
    def pending(self) -> int:
        """How many scripted replies no request has taken yet."""
        with self._lock:
            return len(self._script)

    @property
    def unscripted(self) -> list[RecordedRequest]:
        """Requests that found the script empty (and got the 500 saying so)."""
        with self._lock:
            return list(self._unscripted)

    # -- hooks for the API fakes -------------------------------------------------------------

    def _error(self, status: int, message: str) -> JsonReply:
        return error_reply(status, {"error": message})

    def _serves(self, request: RecordedRequest) -> bool:
        """Whether the request reaches the script (else a 404 that lists `routes`)."""
        return (request.method, request.path) in self.routes

    def _fallback(self, request: RecordedRequest) -> ScriptEntry | None:
        """The entry that answers when the script is empty; None means a 500 naming the request."""
        return self.default_reply

    def _render(self, entry: ScriptEntry, request: RecordedRequest) -> WireReply:
        """Turn a script entry into bytes-to-be: subclasses add their own entry kinds first."""
        if isinstance(entry, Delayed):
            return replace(self._render(entry.entry, request), delay=entry.seconds)
        if isinstance(entry, JsonReply | TextReply | SSEReply | Disconnect):
            return entry
        return self._render(entry(request), request)

    def _answer(self, request: RecordedRequest) -> tuple[WireReply, threading.Event]:
        """Log the request and pick its reply; runs under the lock so replies stay in order."""
        with self._lock:
            self._requests.append(request)
            cancel = self._cancel
            try:
                entry = self.aside(request) if self.aside is not None else None
            except Exception as exc:  # like a failing responder below: a 500, not a hung client
                return self._error(500, f"{type(self).__name__}: the aside responder failed: {exc!r}"), cancel
            if entry is None and not self._serves(request):
                served = ", ".join(f"{m} {p}" for m, p in sorted(self.routes))
                message = f"{type(self).__name__} serves {served}, not {request.method} {request.path}"
                return self._error(404, message), cancel
            if entry is None:
                entry = self._script.popleft() if self._script else self._fallback(request)
            if entry is None:
                self._unscripted.append(request)
                message = (
                    f"{type(self).__name__}: the test did not script a reply for request "
                    f"#{len(self._requests)} ({request.method} {request.path}); call enqueue(...) first"
                )
                return self._error(500, message), cancel
            try:
                return self._render(entry, request), cancel
            except Exception as exc:  # a bug in a test's responder must surface, not hang
                return self._error(500, f"{type(self).__name__}: rendering the reply failed: {exc!r}"), cancel


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up on a keep-alive connection is normal; anything else is reported."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, asks the fake for the reply, writes it; keep-alive like a real API."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms ACK stall
    server: _HTTPServer

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        target = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=target.path,
            query=target.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            raw_body=raw,
        )
        reply, cancel = self.server.fake._answer(request)
        try:
            self._write(reply, cancel)
        except OSError:  # the client gave up (timeout) or reset the connection
            self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_POST

    def _write(self, reply: WireReply, cancel: threading.Event) -> None:
        if (reply.delay and cancel.wait(reply.delay)) or isinstance(reply, Disconnect):
            self.close_connection = True
            return
        if isinstance(reply, JsonReply):
            reply = TextReply(
                json.dumps(reply.body), reply.status, reply.headers, content_type="application/json"
            )
        if isinstance(reply, TextReply):
            self._write_text(reply)
            return
        self._head(reply.status, {"content-type": "text/event-stream; charset=utf-8", **reply.headers})
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for number, (event, data) in enumerate(reply.frames):
            if number and reply.frame_delay and cancel.wait(reply.frame_delay):
                self.close_connection = True
                return
            self._chunk(_encode_frame(event, data))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_text(self, reply: TextReply) -> None:
        payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
        self._head(reply.status, {"content-type": reply.content_type, **reply.headers})
        if reply.status in (204, 304):  # no body, and no length that would make the client wait for one
            self.end_headers()
            return
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer announces the body's length but never sends it
            self.wfile.write(payload)

    def _head(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr lines; the request log is the record."""


def _encode_frame(event: str | None, data: str) -> bytes:
    lines = [f"event: {event}"] if event is not None else []
    lines += [f"data: {line}" for line in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()
