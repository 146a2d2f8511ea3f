#!/bin/sh
# procfile-app: Rivendell's Procfile example, a shell script serving HTTP on
# $PORT: it writes its page at start, naming itself and the host it runs on,
# then execs busybox httpd (busybox stack) or, without busybox, Python's
# http.server (python stack).
set -eu
port=${PORT:-5000}
www=$(mktemp -d "${TMPDIR:-/tmp}/procfile-app.XXXXXX")
cat > "$www/index.html" <<PAGE
<!doctype html><title>procfile-app</title><h1>procfile-app</h1>
<p>A shell script started from a Procfile, on host $(uname -n), since $(date -u '+%Y-%m-%d %H:%M:%S') UTC.</p>
PAGE
echo "procfile-app listening on port $port"
if command -v busybox >/dev/null 2>&1; then
  exec busybox httpd -f -p "$port" -h "$www"
fi
exec python3 -m http.server "$port" --directory "$www"
