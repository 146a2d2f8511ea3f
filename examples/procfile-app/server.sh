#!/bin/sh
# procfile-app: Rivendell's Procfile example, a shell script serving HTTP on
# $PORT with busybox httpd (the busybox stack): it writes its page at start,
# naming itself and the host it runs on, then execs the server.
set -eu
port=${PORT:-5000}
www=$(mktemp -d "${TMPDIR:-/tmp}/procfile-app.XXXXXX")
cat > "$www/index.html" <<PAGE
<!doctype html><title>procfile-app</title><h1>procfile-app</h1>
<p>A shell script started from a Procfile, on host $(hostname), since $(date -u '+%Y-%m-%d %H:%M:%S') UTC.</p>
PAGE
echo "procfile-app listening on port $port"
exec busybox httpd -f -p "$port" -h "$www"
