# (the static buildpack appends this to .rv/static/serve, after root=...)
# Runs from the app directory (launch cds there); PORT is set by the platform.
port=${PORT:-5000}
here=${0%/*}
case "$port" in ''|*[!0-9]*) echo "static: PORT '$port' is not a number" >&2; exit 2 ;; esac
if command -v busybox >/dev/null 2>&1 && busybox --list 2>/dev/null | grep -qx httpd; then
  # -f: foreground (the container's process); -c /dev/null: no config file, no CGI users.
  exec busybox httpd -f -p "$port" -h "$root" -c /dev/null
fi
for py in python3 python; do
  command -v "$py" >/dev/null 2>&1 && exec "$py" "$here/serve.py" "$port" "$root"
done
echo "static: this stack has neither busybox httpd nor python3 to serve files" >&2
exit 127
