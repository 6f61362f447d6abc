"""A git smart-HTTP server for tests: HTTP Basic auth in front of `git http-backend`.

It serves the bare repositories under a directory at `http://127.0.0.1:PORT/<name>.git` and
answers 401 to any request without the right username and password, as a forge does over
HTTPS. So clone, fetch and push run the real git client through its real credential prompts,
and a test sees exactly what git would send to GitHub or GitLab.

Request bodies are read by Content-Length, which git sends for bodies under `http.postBuffer`
(1 MiB): plenty for the small repositories of the tests.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

__all__ = ["git_http_server"]


@contextmanager
def git_http_server(
    root: Path,
    *,
    username: str,
    password: str,
    offered: list[str] | None = None,
    on_push: Callable[[str], None] | None = None,
    host: str = "127.0.0.1",
) -> Iterator[str]:
    """Serve the bare repositories under `root` until the block ends; yields the base URL.
    `offered` collects every "user:password" a client sent, right or wrong; `on_push(name)` runs
    after each push into repository `name` (as a forge's webhooks and CI would); `host` is the
    address to serve on (another network namespace reaches a veth address, not loopback)."""
    server = _GitHTTPServer(root, username, password, offered if offered is not None else [], on_push, host)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _GitHTTPServer(ThreadingHTTPServer):
    def __init__(
        self,
        root: Path,
        username: str,
        password: str,
        offered: list[str],
        on_push: Callable[[str], None] | None,
        host: str,
    ) -> None:
        super().__init__((host, 0), _GitHandler)
        self.root = root
        self.username = username
        self.password = password
        self.offered = offered
        self.on_push = on_push


class _GitHandler(BaseHTTPRequestHandler):
    server: _GitHTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows what matters."""

    def _serve(self) -> None:
        user = self._authenticated_user()
        if user is None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cgi = subprocess.run(
            ["git", "http-backend"],
            input=body,
            capture_output=True,
            check=False,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(self.server.root),
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_PROJECT_ROOT": str(self.server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": unquote(path),
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": user,  # an authenticated user may push (http.receivepack)
                "REMOTE_ADDR": self.client_address[0],
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            },
        )
        if not cgi.stdout:
            self.send_error(500, "git http-backend gave no reply", cgi.stderr.decode(errors="replace"))
            return
        if path.endswith("/git-receive-pack") and self.server.on_push is not None:
            self.server.on_push(unquote(path).strip("/").split("/")[0])  # before the pusher hears back
        self._relay(cgi.stdout)

    def _authenticated_user(self) -> str | None:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        username, _, password = base64.b64decode(encoded).decode().partition(":")
        self.server.offered.append(f"{username}:{password}")
        return username if (username, password) == (self.server.username, self.server.password) else None

    def _relay(self, cgi_output: bytes) -> None:
        """Turn the CGI reply (headers, a blank line, the body; `Status:` sets the status) into HTTP."""
        head, _, payload = cgi_output.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
