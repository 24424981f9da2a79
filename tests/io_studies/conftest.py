"""A loopback HTTP server (127.0.0.1, port 0) serving a folder like the data hosts do.

It answers plain GETs with Range support, OSF API v2 listings (``/v2/nodes/<node>/...``,
paginated two entries a page) of ``<folder>/osf/<node>/``, OpenNeuro-style S3
``ListObjectsV2`` XML (``/?list-type=2&prefix=...``, three keys a page), and Deep Blue
style ``/deepblue/<id>`` downloads named by ``Content-Disposition``. It can cut a
connection midway once per path, trickle a body one byte at a time (``trickle[path] =
seconds between bytes``) or hang before answering (``hang`` paths), and records every
request.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time
import urllib.parse
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

OSF_PAGE = 2
S3_PAGE = 3


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server naming
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = urllib.parse.unquote(url.path)
        self.server.log.append((path, self.headers.get("Range")))
        if path.startswith("/v2/nodes/"):
            return self._osf(path, int(query.get("page", 0)))
        if query.get("list-type") == "2":
            return self._s3(query)
        name = None
        if path.startswith("/deepblue/"):
            name = self.server.named.get(path.rsplit("/", 1)[1])
            file = self.server.folder / "deepblue" / (name or "missing")
        else:
            file = self.server.folder / path.lstrip("/")
        if not file.is_file():
            return self._send(404, b"not found")
        self._file(path, file.read_bytes(), name)

    def _send(self, code, body, ctype="text/plain", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _file(self, path, data, name):
        extra = {"Content-Disposition": f'attachment; filename="{name}"'} if name else {}
        start, code = 0, 200
        rng = self.headers.get("Range")
        if rng and self.server.ranges:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                return self._send(416, b"")
            code = 206
            extra["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        if path in self.server.hang:
            return time.sleep(5.0)  # never answers within the client's timeouts
        if path in self.server.trickle:
            return self._trickle(code, body, extra, self.server.trickle[path])
        if path in self.server.cut or "*" in self.server.cut and self.server.cut_always:
            self.server.cut.discard(path)
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._send(code, body, "application/octet-stream", extra)

    def _trickle(self, code, body, extra, delay):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        try:
            for k in range(len(body)):
                self.wfile.write(body[k:k + 1])
                self.wfile.flush()
                time.sleep(delay)
        except OSError:  # the client gave up
            pass

    def _base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _osf(self, path, page):
        parts = path.strip("/").split("/")  # v2 nodes <node> files osfstorage [sub...]
        node, sub = parts[2], "/".join(parts[5:])
        folder = self.server.folder / "osf" / node / sub
        entries = sorted(folder.iterdir())
        items = []
        for entry in entries[page * OSF_PAGE:(page + 1) * OSF_PAGE]:
            rel = entry.relative_to(self.server.folder / "osf" / node).as_posix()
            if entry.is_dir():
                href = f"{self._base()}/v2/nodes/{node}/files/osfstorage/{rel}/"
                items.append({"attributes": {"kind": "folder", "name": entry.name,
                                             "materialized_path": f"/{rel}/"},
                              "relationships": {"files": {"links": {"related": {"href": href}}}}})
            else:
                digest = hashlib.sha256(entry.read_bytes()).hexdigest()
                items.append({"attributes": {"kind": "file", "name": entry.name,
                                             "materialized_path": f"/{rel}",
                                             "size": entry.stat().st_size,
                                             "extra": {"hashes": {"sha256": digest}}},
                              "links": {"download": f"{self._base()}/osf/{node}/{rel}"}})
        more = (page + 1) * OSF_PAGE < len(entries)
        nxt = f"{self._base()}{path}?page={page + 1}" if more else None
        self._send(200, json.dumps({"data": items, "links": {"next": nxt}}).encode(),
                   "application/json")

    def _s3(self, query):
        prefix = query["prefix"]
        files = sorted(p for p in (self.server.folder / prefix).rglob("*") if p.is_file())
        start = int(query.get("continuation-token", 0))
        page = files[start:start + S3_PAGE]
        rows = []
        for file in page:
            key = file.relative_to(self.server.folder).as_posix()
            etag = hashlib.md5(file.read_bytes()).hexdigest()
            if key in self.server.multipart:
                etag = etag + "-2"
            rows.append(f"<Contents><Key>{escape(key)}</Key><Size>{file.stat().st_size}"
                        f"</Size><ETag>&quot;{etag}&quot;</ETag></Contents>")
        more = start + S3_PAGE < len(files)
        token = f"<NextContinuationToken>{start + S3_PAGE}</NextContinuationToken>" if more else ""
        body = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                f"<IsTruncated>{str(more).lower()}</IsTruncated>{token}{''.join(rows)}"
                "</ListBucketResult>")
        self._send(200, body.encode(), "application/xml")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.folder = folder
        self.log: list[tuple[str, str | None]] = []
        self.cut: set[str] = set()
        self.cut_always = False
        self.ranges = True
        self.named: dict[str, str] = {}
        self.multipart: set[str] = set()
        self.trickle: dict[str, float] = {}
        self.hang: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server(tmp_path):
    """A loopback server over ``tmp_path / 'served'``; nothing leaves the machine."""
    folder = tmp_path / "served"
    folder.mkdir()
    srv = _Server(folder)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
