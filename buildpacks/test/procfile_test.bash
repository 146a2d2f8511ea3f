#!/usr/bin/env bash
# The procfile buildpack: detect, compile (nothing built; scripts made
# executable), release, and the example answering.   procfile_test.bash ROOT dash|busybox
source "$(dirname "$0")/lib.bash"

out=$(detect procfile "$EX/procfile-app"); rc=$?
expect_eq "detects examples/procfile-app and prints Procfile" "$rc $out" "0 Procfile"
for other in static-site python-app; do
  detect procfile "$EX/$other" >/dev/null; expect_eq "does not detect examples/$other" "$?" 1
done
d=$(newdir); echo x > "$d/README"
detect procfile "$d" >/dev/null; expect_eq "does not detect a tree without a Procfile" "$?" 1

rel=$(release procfile "$EX/procfile-app")
expect_eq "release declares no default types (the Procfile has them)" "$rel" $'---\ndefault_process_types: {}'

a=$(app procfile-app)
before=$(cd "$a" && find . -type f | sort | xargs sha256sum)
out=$(compile procfile "$a" "$(newdir)" "$(newdir)"); rc=$?
expect_eq "compile of examples/procfile-app succeeds" "$rc" 0
expect_has "  and says it has nothing to compile" "$out" '^-----> Nothing to compile'
expect_eq "  and changes no file" "$(cd "$a" && find . -type f | sort | xargs sha256sum)" "$before"

d=$(newdir)
printf 'web: ./bin/server --port $PORT\r\nworker: ./missing.sh\n# comment\n\nclock: sleep 100\n' > "$d/Procfile"
mkdir "$d/bin"; printf '#!/bin/sh\necho hi\n' > "$d/bin/server"; chmod 0644 "$d/bin/server"
out=$(compile procfile "$d" "$(newdir)" "$(newdir)"); rc=$?
expect_eq "compile of a Procfile naming scripts succeeds" "$rc" 0
check "  a script the Procfile runs is made executable" test -x "$d/bin/server"
expect_has "  saying so" "$out" '^       web: made \./bin/server executable$'
expect_has "  and warns of a script that is not in the app" "$out" 'warning: worker runs \./missing\.sh, which is not in the app'

if serve "$a" "$RUN_PATH" "sh server.sh"; then
  expect_has "examples/procfile-app answers on \$PORT with its name" "$page" '<h1>procfile-app</h1>'
  stop_served
else
  not_ok "examples/procfile-app answers on \$PORT"
fi
finish
