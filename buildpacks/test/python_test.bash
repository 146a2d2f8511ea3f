#!/usr/bin/env bash
# The python buildpack: detect, compile (vendored wheels with no network, the
# build cache), release, export, .profile.d, and the example app answering.
#   python_test.bash ROOT dash|busybox
source "$(dirname "$0")/lib.bash"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -m pip --version >/dev/null 2>&1 ||
  { echo "Debian's python3 and python3-pip are needed (scripts/install-deps)"; exit 1; }
# No network in compile: its own network namespace, with nothing in it.
offline() { unshare --net -- "$@"; }

out=$(detect python "$EX/python-app"); rc=$?
expect_eq "detects examples/python-app and prints Python" "$rc $out" "0 Python"
for other in static-site procfile-app; do
  detect python "$EX/$other" >/dev/null; expect_eq "does not detect examples/$other" "$?" 1
done
d=$(newdir); echo 'worker: python3 worker.py' > "$d/Procfile"; echo 'print(1)' > "$d/worker.py"
detect python "$d" >/dev/null; expect_eq "detects a Procfile beside top-level *.py files" "$?" 0
rm "$d/worker.py"; detect python "$d" >/dev/null; expect_eq "does not detect a Procfile alone" "$?" 1
d=$(newdir); echo 'print(1)' > "$d/tool.py"
detect python "$d" >/dev/null; expect_eq "does not detect a stray *.py with no Procfile" "$?" 1
for f in requirements.txt setup.py pyproject.toml app.py; do
  d=$(newdir); : > "$d/$f"; detect python "$d" >/dev/null; expect_eq "detects $f alone" "$?" 0
done

rel=$(release python "$EX/python-app")
expect_has "release: app.py is the default web process" "$rel" '^  web: python3 app\.py$'
d=$(newdir); : > "$d/requirements.txt"
rel=$(release python "$d")
expect_eq "release without app.py declares no types" "$rel" $'---\ndefault_process_types: {}'

# Cold compile, offline, from vendor/.
a=$(app python-app); cache=$(newdir); envd=$(newdir)
t0=$(date +%s%N)
out=$(offline env -i PATH="$RUN_PATH" HOME="$T/home" TMPDIR="$T/tmp" "$SH" "$BP/python/bin/compile" "$a" "$cache" "$envd"); rc=$?
t1=$(date +%s%N)
echo "# cold compile $(( (t1 - t0) / 1000000 )) ms"
expect_eq "compile of examples/python-app succeeds with no network" "$rc" 0
expect_has "it says it installs from vendor/ with an empty cache" "$out" '^-----> Installing requirements.txt with pip from vendor/ \(empty build cache\)'
expect_has "pip's output is indented under it" "$out" '^       Successfully installed rvgreet-1\.0$'
check "rvgreet is installed in .rv/python/packages" test -f "$a/.rv/python/packages/rvgreet/__init__.py"
check ".profile.d/python.sh puts the packages on PYTHONPATH" grep -q 'PYTHONPATH="$HOME/.rv/python/packages' "$a/.profile.d/python.sh"
check "the export file (for the next pack) names the build dir's packages" grep -q "PYTHONPATH=\"$a/.rv/python/packages" "$BP/python/export"
check "the cache holds the packages and their key" test -f "$cache/python/packages/rvgreet/__init__.py" -a -s "$cache/python/key"

# Warm compile: the same requirements and vendor/ take the packages from the cache.
a2=$(app python-app)
t0=$(date +%s%N)
out=$(offline env -i PATH="$RUN_PATH" HOME="$T/home" TMPDIR="$T/tmp" "$SH" "$BP/python/bin/compile" "$a2" "$cache" "$envd"); rc=$?
t1=$(date +%s%N)
echo "# warm compile $(( (t1 - t0) / 1000000 )) ms"
expect_eq "a second compile succeeds" "$rc" 0
expect_has "it reports a cache hit" "$out" 'cache hit'
expect_lacks "pip does not run" "$out" 'Installing requirements|Successfully installed'
check "the packages are there" test -f "$a2/.rv/python/packages/rvgreet/__init__.py"

# Changed requirements: pip runs again and the cache is replaced.
a3=$(app python-app); echo '# pinned' >> "$a3/requirements.txt"
out=$(compile python "$a3" "$cache" "$envd")
expect_has "changed requirements run pip again, saying why" "$out" 'from vendor/ \(requirements or vendor/ changed\)'
check "the cache key follows" test "$(cat "$cache/python/key")" != ""

# A requirement not vendored fails the build, with no network to fall back on.
a4=$(app python-app); echo 'requests==2.0' >> "$a4/requirements.txt"
out=$(offline env -i PATH="$RUN_PATH" HOME="$T/home" TMPDIR="$T/tmp" "$SH" "$BP/python/bin/compile" "$a4" "$(newdir)" "$envd"); rc=$?
expect_eq "a requirement missing from vendor/ fails compile" "$rc" 1
expect_has "  saying what to do" "$out" '^ !     pip install failed .*every requirement must be a wheel or sdist in vendor/'
expect_has "  with pip's reason" "$out" 'requests'

# A stdlib app: nothing installed.
d=$(newdir); echo 'print("hi")' > "$d/app.py"
out=$(compile python "$d" "$(newdir)" "$envd"); rc=$?
expect_eq "a standard-library app compiles" "$rc" 0
expect_has "  saying there is nothing to install" "$out" 'No requirements.txt: standard library only'
check "  and writes no packages" test ! -e "$d/.rv/python/packages"

# A stack without python3 (the busybox stack) fails clearly.
mkdir -p "$T/nopy"; for t in sh cat mkdir dirname; do ln -sf "$(command -v $t)" "$T/nopy/$t"; done
d=$(app python-app)
out=$(env -i PATH="$T/nopy" "$SH" "$BP/python/bin/compile" "$d" "$(newdir)" "$envd"); rc=$?
expect_eq "without python3, compile fails" "$rc" 1
expect_has "  saying which stack to use" "$out" 'python3 is not in this stack'

# The app answers, with the vendored package importable through .profile.d.
if serve "$a" /usr/bin:/bin "python3 app.py"; then
  expect_has "examples/python-app answers on \$PORT with its name" "$page" '<h1>python-app</h1>'
  expect_has "  and the vendored wheel's greeting" "$page" 'rvgreet 1\.0 installed from a vendored wheel'
  stop_served
else
  not_ok "examples/python-app answers on \$PORT"
fi
finish
