"""Static file server of the static buildpack (stacks without busybox httpd).

serve.py PORT ROOT: serves ROOT on 0.0.0.0:PORT with the standard library's
http.server, threaded, refusing any path with a dot-file component (.rv,
.git, .profile.d...). Access lines go to stderr, as http.server writes them.
"""
import functools
import http.server
import sys
import urllib.parse


class Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        if any(part.startswith(".") for part in path.split("/") if part):
            self.send_error(404, "File not found")
            return None
        return super().send_head()


def main():
    port, root = int(sys.argv[1]), sys.argv[2]
    handler = functools.partial(Handler, directory=root)
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    with http.server.ThreadingHTTPServer(("", port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
