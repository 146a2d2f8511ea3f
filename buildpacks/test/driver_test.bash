#!/usr/bin/env bash
# The driver (buildpacks/bin/build) and launch, end to end on plain directories:
# each example built and answering, the choice of packs (.buildpacks,
# BUILDPACK_URL, detection order), ENV_DIR, export, .profile.d, Procfile
# parsing and the failures.   driver_test.bash ROOT dash|busybox
source "$(dirname "$0")/lib.bash"

# A probe pack, beside the built-ins in this test's copy: it records its
# environment and ENV_DIR, and exports a variable for the packs after it.
mkdir -p "$BP/probe/bin"
cat > "$BP/probe/bin/detect" <<'EOF'
#!/bin/sh
exit 1
EOF
cat > "$BP/probe/bin/compile" <<'EOF'
#!/bin/sh
me=$(cd "$(dirname "$0")/.." && pwd); me=${me##*/}
env > "$1/$me.env"
ls "$3" > "$1/$me.envdir"
cat "$3/SECRET_TOKEN" > "$1/$me.secret" 2>/dev/null
echo "-----> $me ran"
echo "export PROBE_EXPORTED=from-$me" > "$(dirname "$0")/../export"
EOF
printf '#!/bin/sh\necho ---\necho "default_process_types:"\necho "  probe: sleep 1"\n' > "$BP/probe/bin/release"
cp -R "$BP/probe" "$BP/probe2"

# build_app DIR [ENV_DIR]: runs the driver; sets $out (its output), $rc, $o (OUT_DIR).
build_app() {
  o=$(newdir)
  out=$(build "$1" "${CACHE:-$(newdir)}" "${2:-$(newdir)}" "$o"); rc=$?
}

# Each example: its pack, its process types, and it answers through launch.
declare -A pack=([static-site]=static [python-app]=python [procfile-app]=procfile)
declare -A label=([static-site]=Static [python-app]=Python [procfile-app]=Procfile)
declare -A types=([static-site]="web: sh .rv/static/serve" [python-app]="web: python3 app.py" [procfile-app]="web: sh server.sh")
for ex in static-site python-app procfile-app; do
  a=$(app "$ex"); CACHE=$T/cache.$ex build_app "$a"
  expect_eq "$ex: the build succeeds" "$rc" 0
  expect_has "$ex: Heroku-style detection line" "$out" "^-----> ${label[$ex]} app detected$"
  expect_eq "$ex: OUT_DIR/buildpacks" "$(cat "$o/buildpacks")" "${pack[$ex]}"
  expect_eq "$ex: OUT_DIR/process-types" "$(cat "$o/process-types")" "${types[$ex]}"
  cmd=$(sed -n 's/^web: //p' "$o/process-types")
  if serve "$a" "$RUN_PATH" "$cmd"; then
    expect_has "$ex: answers on \$PORT through launch" "$page" "<h1>$ex</h1>"
    stop_served
  else
    not_ok "$ex: answers on \$PORT through launch" "$out"
  fi
done
lines=$(printf '%s\n' "$out" | wc -l)
check "the driver's output is short (procfile-app: $lines lines)" test "$lines" -lt 15

# --choose: the packs, nothing built (the caller picks the stack with it).
for ex in static-site python-app procfile-app; do
  a=$(app "$ex"); before=$(ls -A "$a")
  expect_eq "--choose names $ex's pack" "$(build --choose "$a")" "${pack[$ex]}"
  expect_eq "  and changes nothing in the app" "$(ls -A "$a")" "$before"
done
e=$(newdir); printf 'python static' > "$e/BUILDPACK_URL"
expect_eq "--choose reads BUILDPACK_URL from ENV_DIR" "$(build --choose "$(app static-site)" "$e" | tr '\n' ' ')" "python static "
d=$(newdir); echo hi > "$d/README"
out=$(build --choose "$d"); rc=$?
expect_eq "--choose on an undetectable tree fails with the reason" "$rc: $out" "1:  !     no buildpack detected this app: no Procfile, index.html, public/, requirements.txt or *.py at its top level"

# Second build of python-app with the same cache: the cache is reused.
a=$(app python-app); CACHE=$T/cache.python-app build_app "$a"
expect_has "python-app rebuilt with its cache: cache hit" "$out" 'cache hit'

# A read-only /tmp (the build container's root is read-only): the driver
# works under OUT_DIR and gives the packs a TMPDIR there (pip needs one).
mkdir -p "$T/rotmp"
a=$(app python-app); o=$(newdir); printf 'python\nprobe\n' > "$a/.buildpacks"
out=$(unshare --mount -- bash -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && "$@"' _ "$T/rotmp" \
  env -i PATH="$RUN_PATH" TMPDIR="$T/rotmp" BUILDPACK_SH="$SH" "$SH" "$BP/bin/build" "$a" "$(newdir)" "$(newdir)" "$o"); rc=$?
expect_eq "with a read-only TMPDIR, python-app still builds" "$rc" 0
expect_has "  pip ran" "$out" 'Successfully installed rvgreet'
expect_has "  the packs got a TMPDIR under OUT_DIR" "$(cat "$a/probe.env")" "^TMPDIR=$o/\.work\.[0-9]+/tmp$"
check "  and the scratch under OUT_DIR is gone" test -z "$(ls -A "$o" | grep -v -e '^buildpacks$' -e '^process-types$')"

# Detection order: python before static before procfile.
d=$(newdir); echo 'web: python3 server.py' > "$d/Procfile"; echo 'print(1)' > "$d/server.py"; echo '<h1>x</h1>' > "$d/index.html"
build_app "$d"
expect_eq "a Python app with a Procfile and an index.html is built by python" "$(cat "$o/buildpacks")" python
expect_eq "  its Procfile's web wins over the pack's defaults" "$(cat "$o/process-types")" "web: python3 server.py"
d=$(newdir); echo 'web: sh run.sh' > "$d/Procfile"; echo '<h1>x</h1>' > "$d/index.html"
build_app "$d"
expect_eq "a site with a Procfile is built by static" "$(cat "$o/buildpacks")" static
expect_eq "  the Procfile's web first" "$(cat "$o/process-types")" "web: sh run.sh"

# .buildpacks and BUILDPACK_URL name the packs; .buildpacks wins.
echo procfile > "$d/.buildpacks"
build_app "$d"
expect_eq ".buildpacks overrides detection" "$(cat "$o/buildpacks")" procfile
expect_has "  and says where the choice came from" "$out" '^-----> Procfile app \(from \.buildpacks\)$'
rm "$d/.buildpacks"
e=$(newdir); echo procfile > "$e/BUILDPACK_URL"
build_app "$d" "$e"
expect_eq "BUILDPACK_URL in ENV_DIR overrides detection" "$(cat "$o/buildpacks")" procfile
printf '# ours\nhttps://github.com/heroku/heroku-buildpack-static.git\n' > "$d/.buildpacks"
build_app "$d" "$e"
expect_eq ".buildpacks wins over BUILDPACK_URL, a Heroku URL naming the built-in" "$(cat "$o/buildpacks")" static
printf 'static\nhttps://example.com/heroku-buildpack-ruby\n' > "$d/.buildpacks"
build_app "$d"
expect_eq "a pack that is not built in fails the build" "$rc" 1
expect_has "  the last line naming it and the built-ins" "$(printf '%s\n' "$out" | tail -1)" "^ !     \.buildpacks names 'https://example.com/heroku-buildpack-ruby', which is not a built-in buildpack \(built-in: .*python.*\)$"
printf '../../etc\n' > "$d/.buildpacks"
build_app "$d"
expect_has "a path in .buildpacks is refused" "$(printf '%s\n' "$out" | tail -1)" "not a built-in buildpack"
printf '*\n' > "$d/.buildpacks"
build_app "$d"
expect_has "a glob in .buildpacks is a name, refused" "$(printf '%s\n' "$out" | tail -1)" "names '\\*', which is not a built-in buildpack \\(built-in: .*procfile python static\\)"

# Config vars reach compile only as ENV_DIR files; export reaches the next pack.
a=$(app python-app); printf 'python\nprobe\n' > "$a/.buildpacks"
e=$(newdir); printf 's3cr3t-value' > "$e/SECRET_TOKEN"; echo 1 > "$e/DEBUG"
o=$(newdir)
out=$(run SOME_HOST_VAR=1 "$SH" "$BP/bin/build" "$a" "$(newdir)" "$e" "$o"); rc=$?
expect_eq "python then probe build" "$rc $(tr '\n' ' ' < "$o/buildpacks")" "0 python probe "
expect_eq "a config var is readable from ENV_DIR in compile" "$(cat "$a/probe.secret")" "s3cr3t-value"
expect_eq "  ENV_DIR lists every config var" "$(tr '\n' ' ' < "$a/probe.envdir")" "DEBUG SECRET_TOKEN "
expect_lacks "  but none is in compile's environment" "$(cat "$a/probe.env")" 'SECRET_TOKEN|s3cr3t|^DEBUG='
expect_lacks "  nor in the build's output" "$out" 's3cr3t'
expect_has "the python pack's export reached the next pack" "$(cat "$a/probe.env")" "^PYTHONPATH=$a/\.rv/python/packages"
expect_eq "process types: defaults of each pack, in pack order" "$(cat "$o/process-types")" $'web: python3 app.py\nprobe: sleep 1'
d=$(newdir); printf 'probe, probe2\n' > "$d/.buildpacks"
build_app "$d"
expect_has "a pack's export is sourced before the next pack's compile" "$(cat "$d/probe2.env")" '^PROBE_EXPORTED=from-probe$'
expect_lacks "  and not before its own" "$(cat "$d/probe.env")" 'PROBE_EXPORTED'

# Procfile parsing: CRLF, comments, bad lines, duplicates.
d=$(newdir)
printf 'web: sh a.sh\r\n# comment\n\nworker:   sh w.sh  \nbad line\nweb: sh other.sh\nempty:\n' > "$d/Procfile"
build_app "$d"
expect_eq "Procfile: CRLF, spaces and comments handled, the first web kept" "$(cat "$o/process-types")" $'web: sh a.sh\nworker: sh w.sh'
expect_has "  a line that is not name: command is reported" "$out" 'Procfile line 5: not `name: command`, ignored'
expect_has "  a type defined twice is reported" "$out" 'Procfile line 6: web defined again, the first one is kept'
expect_has "  an empty command is reported" "$out" 'Procfile line 7: no command for empty, ignored'
expect_has "  the types are listed Heroku-style" "$out" '^       Procfile declares types     -> web, worker$'

# Failures: a clear last line and a non-zero status.
d=$(newdir); echo hello > "$d/README"
build_app "$d"
expect_eq "an undetectable tree fails" "$rc" 1
expect_eq "  with a clear last line" "$(printf '%s\n' "$out" | tail -1)" " !     no buildpack detected this app: no Procfile, index.html, public/, requirements.txt or *.py at its top level"
check "  and writes no OUT_DIR/process-types" test ! -e "$o/process-types"
d=$(newdir); : > "$d/Procfile"
build_app "$d"
expect_has "an empty Procfile fails: no process types" "$rc: $(printf '%s\n' "$out" | tail -1)" "^1:  !     build failed: no process types"
a=$(app python-app); echo 'missing-pkg==1' >> "$a/requirements.txt"
build_app "$a"
expect_eq "a failing compile fails the build" "$rc" 1
expect_eq "  the last line names the pack" "$(printf '%s\n' "$out" | tail -1)" " !     build failed: the python buildpack's compile exited with status 1"
out=$(build "$(newdir)/nope" "$(newdir)" "$(newdir)" "$(newdir)"); rc=$?
expect_has "a missing build dir fails clearly" "$rc: $out" '^1:  !     build dir .* does not exist$'
out=$(build a b); rc=$?
expect_has "wrong arguments fail with the usage" "$rc: $out" '^1:  !     usage: build BUILD_DIR CACHE_DIR ENV_DIR OUT_DIR$'

# launch: .profile.d sourced in order, HOME and the working directory are the app.
d=$(newdir); mkdir -p "$d/.profile.d" "$d/.rv"; cp "$BP/bin/launch" "$d/.rv/launch"
echo 'export GREETING=hello' > "$d/.profile.d/10-a.sh"
echo 'export GREETING="$GREETING world"' > "$d/.profile.d/20-b.sh"
echo 'export NOT_SOURCED=1' > "$d/.profile.d/c.txt"
got=$(env -i PATH="$RUN_PATH" /bin/sh "$d/.rv/launch" 'echo "$GREETING|$HOME|$(pwd)|${NOT_SOURCED:-unset}"')
expect_eq "launch sources .profile.d/*.sh in order; HOME and cwd are the app" "$got" "hello world|$d|$d|unset"
got=$(env -i PATH="$RUN_PATH" /bin/sh "$d/.rv/launch" printf '%s,' 'a b' c)
expect_eq "launch execs several arguments as they are" "$got" "a b,c,"
got=$(env -i PATH="$RUN_PATH" /bin/sh "$d/.rv/launch" 'echo one; echo two | tr a-z A-Z')
expect_eq "launch runs a shell line with sh" "$got" $'one\nTWO'
env -i PATH="$RUN_PATH" N=30 /bin/sh "$d/.rv/launch" 'sleep ${N} 2>/dev/null' & p=$!; started_pids+=("$p")
for _ in $(seq 1 50); do tr '\0' ' ' < "/proc/$p/cmdline" | grep -q '^sleep' && break; sleep 0.05; done
expect_eq "launch execs a simple command: the app is the process (signals reach it)" "$(tr '\0' ' ' < "/proc/$p/cmdline")" "sleep 30 "
kill "$p"; wait "$p" 2>/dev/null
env -i PATH="$RUN_PATH" /bin/sh "$d/.rv/launch" > /dev/null 2>&1
expect_eq "launch with no command fails" "$?" 2
# As PID 1 (a container's first process) an app without a SIGTERM handler
# would ignore the stop signal: launch stays PID 1 and passes it on.
if [ "$(id -u)" = 0 ]; then
  for cmd in 'sleep 30' 'sleep 30; echo never'; do
    env -i PATH="$RUN_PATH" unshare --pid --fork -- "$SH" "$d/.rv/launch" "$cmd" & p=$!; started_pids+=("$p")
    c=""
    for _ in $(seq 1 50); do c=$(pgrep -P "$p" | head -n 1); [ -n "$c" ] && pgrep -P "$c" >/dev/null && break; sleep 0.05; done
    t0=$(date +%s%N)
    kill -TERM "$c" 2>/dev/null
    wait "$p"; rc=$?
    took=$((($(date +%s%N) - t0) / 1000000))
    expect_eq "launch as PID 1 stops '$cmd' at SIGTERM (status 143, at once)" "$rc $((took < 2000))" "143 1"
  done
  # ... and its child reads launch's stdin (a console one-off's input).
  got=$(printf 'typed\n' | env -i PATH="$RUN_PATH" unshare --pid --fork -- "$SH" "$d/.rv/launch" 'read l; echo "got $l"')
  expect_eq "launch as PID 1 passes its stdin to the process" "$got" "got typed"
else
  not_ok "launch as PID 1 passes SIGTERM on (needs root for unshare --pid)" "not root"
fi
finish
