#!/usr/bin/env bash
# The static buildpack: detect, compile, release, and the site served on $PORT
# by busybox httpd and by the Python fallback.   static_test.bash ROOT dash|busybox
source "$(dirname "$0")/lib.bash"

out=$(detect static "$EX/static-site"); rc=$?
expect_eq "detects examples/static-site (index.html) and prints Static" "$rc $out" "0 Static"
for other in python-app procfile-app; do
  detect static "$EX/$other" >/dev/null; expect_eq "does not detect examples/$other" "$?" 1
done
d=$(newdir); mkdir "$d/public"
detect static "$d" >/dev/null; expect_eq "detects a public/ directory" "$?" 0
d=$(newdir); echo x > "$d/README"
detect static "$d" >/dev/null; expect_eq "does not detect a tree without index.html or public/" "$?" 1

rel=$(release static "$EX/static-site")
expect_has "release gives the web process as YAML" "$rel" '^default_process_types:$'
expect_has "release's web process runs .rv/static/serve" "$rel" '^  web: sh \.rv/static/serve$'

a=$(app static-site); cache=$(newdir); envd=$(newdir)
out=$(compile static "$a" "$cache" "$envd"); rc=$?
expect_eq "compile of examples/static-site succeeds" "$rc" 0
expect_has "compile says the document root is the top directory" "$out" "^-----> Document root is the app's top directory"
expect_has "compile counts the files it will serve (dot files excluded)" "$out" '^       2 files to serve$'
check "compile installs .rv/static/serve and serve.py" test -f "$a/.rv/static/serve" -a -f "$a/.rv/static/serve.py"
check "the serve script names root '.'" grep -qx "root='.'" "$a/.rv/static/serve"

d=$(newdir); mkdir -p "$d/public"; echo '<h1>pub</h1>' > "$d/public/index.html"; echo secret > "$d/notes.txt"
out=$(compile static "$d" "$cache" "$envd")
expect_has "a public/ directory is the document root" "$out" '^-----> Document root public/'
check "the serve script names root 'public'" grep -qx "root='public'" "$d/.rv/static/serve"

# STATIC_ROOT reaches compile through ENV_DIR, never through the environment.
d=$(newdir); mkdir -p "$d/site" "$d/public"; echo '<h1>site</h1>' > "$d/site/index.html"; echo '<h1>public</h1>' > "$d/public/index.html"
envd=$(newdir); echo site > "$envd/STATIC_ROOT"
out=$(run STATIC_ROOT=public "$SH" "$BP/static/bin/compile" "$d" "$cache" "$envd")
expect_has "STATIC_ROOT from ENV_DIR chooses the document root" "$out" '^-----> Document root site \(from STATIC_ROOT\)'
check "the environment's STATIC_ROOT is ignored" grep -qx "root='site'" "$d/.rv/static/serve"
envd2=$(newdir)
out=$(run STATIC_ROOT=site "$SH" "$BP/static/bin/compile" "$d" "$cache" "$envd2")
expect_has "STATIC_ROOT only in the environment does nothing" "$out" '^-----> Document root public/'
for bad in ../etc /etc 'a b' 'site/../..'; do
  echo "$bad" > "$envd/STATIC_ROOT"
  out=$(compile static "$d" "$cache" "$envd"); rc=$?
  expect_eq "STATIC_ROOT '$bad' is refused" "$rc" 1
  expect_has "  with a message naming it" "$out" "STATIC_ROOT '.*' is not a relative directory inside the app"
done
echo nope > "$envd/STATIC_ROOT"
out=$(compile static "$d" "$cache" "$envd")
expect_has "STATIC_ROOT naming no directory is refused" "$out" "STATIC_ROOT 'nope' is not a directory in the app"

# Served: busybox httpd where busybox is (busybox stack), else python3.
if serve "$a" "$RUN_PATH" "sh .rv/static/serve"; then
  expect_has "busybox httpd serves the site on \$PORT" "$page" '<h1>static-site</h1>'
  expect_eq "  and its other files" "$(get_code /style.css)" 200
  check "  as the process launch started (exec'd, no shell left)" grep -q httpd "/proc/$served_pid/cmdline"
  stop_served
else
  not_ok "busybox httpd serves the site on \$PORT"
fi
mkdir -p "$T/pyonly"; ln -sf /usr/bin/python3 "$T/pyonly/python3"; ln -sf /bin/sh "$T/pyonly/sh"
if serve "$a" "$T/pyonly" "sh .rv/static/serve"; then
  expect_has "without busybox, python3's http.server serves the site" "$page" '<h1>static-site</h1>'
  expect_eq "  and its other files" "$(get_code /style.css)" 200
  expect_eq "  but no dot file (.rv/)" "$(get_code /.rv/static/serve)" 404
  expect_eq "  even %-encoded" "$(get_code /%2erv/static/serve)" 404
  expect_eq "  nor a path climbing out of the root" "$(get_code /../../etc/passwd)" 404
  stop_served
else
  not_ok "without busybox, python3's http.server serves the site"
fi
mkdir -p "$T/nothing"; ln -sf /bin/sh "$T/nothing/sh"
env -i PATH="$T/nothing" PORT=1 /bin/sh "$a/.rv/launch" "sh .rv/static/serve" > "$T/none.log" 2>&1
expect_eq "a stack with neither server fails at start, saying so" "$?:$(cat "$T/none.log")" "127:static: this stack has neither busybox httpd nor python3 to serve files"
finish
