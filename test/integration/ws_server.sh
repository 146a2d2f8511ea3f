# ws_server.sh: the WebSocket test's server, run by busybox `nc -ll -e` for
# each connection (stdin and stdout are the socket). It reads a request head,
# answers 101 Switching Protocols (the RFC 6455 example key's accept value),
# then echoes raw bytes: enough for a proxy to switch to a tunnel, and for the
# client to see bytes pass both ways. A health check's GET gets the 101 too.
cr=$(printf '\r')
while IFS= read -r line; do
  case "$line" in "" | "$cr") break ;; esac
done
printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'
exec cat
