"""Serve /srv/pypi (a PEP 503 tree of wheels) over HTTPS on :8443 with /srv/tls/server.{pem,key}.

The standard library's directory listings are valid simple-index pages (one anchor per file),
so a directory per project is an index pip reads. HTTPS because pip refuses a plain-HTTP index
on any host but loopback; see scripts/compose/mirror_tls.py.
"""

from __future__ import annotations

import functools
import http.server
import ssl

ROOT = "/srv/pypi"
CERTIFICATE, KEY = "/srv/tls/server.pem", "/srv/tls/server.key"
PORT = 8443


def main() -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=ROOT)
    server = http.server.ThreadingHTTPServer(("0.0.0.0", PORT), handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERTIFICATE, KEY)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
