"""python-app: Rivendell's Python example, a standard-library web app.

Answers every GET on $PORT (default 5000) with a page naming itself, the
greeting of the vendored rvgreet wheel (installed by the python buildpack
from vendor/, without network), and the host it runs on; HEAD with the same
headers (the pod's proxies check a replica's health with HEAD /, once a
second each, as User-Agent rivendell-check: those are left out of its log).
"""
import http.server
import os
import socket

import rvgreet

APP = "python-app"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.wfile.write(self.send_page())

    def do_HEAD(self):
        self.send_page()

    def log_request(self, code="-", size="-"):
        if self.headers.get("User-Agent", "") != "rivendell-check":
            super().log_request(code, size)

    def send_page(self):
        """Sends the status and headers; returns the body."""
        body = (
            f"<!doctype html><title>{APP}</title><h1>{APP}</h1>"
            f"<p>{rvgreet.greeting(APP)}</p><p>host {socket.gethostname()}</p>\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return body


def main():
    port = int(os.environ.get("PORT", "5000"))
    server = http.server.ThreadingHTTPServer(("", port), Handler)
    print(f"{APP} listening on port {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
