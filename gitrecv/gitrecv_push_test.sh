#!/usr/bin/env bash
# gitrecv_push: git push deploys, git side (issue 17), end to end.
#
# A real sauron (its own pod dir, reserved ports), `gitrecv setup` + its sshd
# (`sshd -D -f CONFIG` as root on a reserved port of 127.0.0.1, system user
# rvgit, created if missing), users/keys/apps/access made with `rv`, and a
# plain `git` client with its own ssh-keygen keys. The on-push command is a
# fake script that prints lines, records when it ran, and exits as told.
# Checks: a push deploys and its output comes back as `remote:` lines; a
# failing on-push fails the push and leaves the branch; no access / no such
# app / another tenant's clone / a key not enrolled / a command other than
# receive/upload-pack / a path escape / another branch / an empty tree / over
# the size limit (one huge pack, and a repo growing past it) are refused with a
# message; two pushes at once run one after the other; read-only access clones
# but cannot push. The on-push runs as root through `gitrecv run`'s deploy
# runner, its output still relayed. The console (`ssh ... run APP -- CMD`)
# runs a fake on-run as root with the exact argv and passes its output and
# exit code back; a read-only user, another tenant, a bad app or command are
# refused. An app command (`ssh ... logs APP -f`, ps, releases, builds,
# config, config:set/unset, rollback) runs a fake on-app as root with the
# fixed argv, for read-only users too except rollback and config changes;
# another tenant and an unlisted word are refused.
#   gitrecv_push_test.sh REPO_ROOT BUILD_DIR
set -uo pipefail
root=$1
build=$2
if [ "$(id -u)" != 0 ] || [ ! -x /usr/sbin/sshd ] || ! command -v git >/dev/null || ! command -v ssh-keygen >/dev/null; then
  echo "SKIPPED: gitrecv_push needs root, openssh-server, openssh-client and git" >&2
  exit 77
fi
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
dir=$(mktemp -d /tmp/rv-gitrecv.XXXXXX)
chmod 755 "$dir"  # the git user reads its config and runs the fake on-push here
# sshd runs AuthorizedKeysCommand only from a root-owned path nobody else can
# write; the build dir may not be one, so the binary is copied.
bindir=/run/rv-gitrecv-test-$$
mkdir -p "$bindir" && chmod 755 "$bindir"
cp "$build/gitrecv/gitrecv" "$bindir/gitrecv" && chmod 755 "$bindir/gitrecv"
rv="$build/cli/rv --pod $dir/pod.json"
sshd_port=$((port + 5))
sauron_pid="" sshd_pid=""
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null
  [ -n "$sauron_pid" ] && kill "$sauron_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$dir" "$bindir"
}
trap cleanup EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
die() {
  echo "FAIL: $*" >&2
  tail -n 30 "$dir/gitrecv/sshd.log" "$dir/sauron.log" >&2 2>/dev/null
  exit 1
}

# ---- a sauron of its own ----
mkdir -p "$dir/keys"
for k in sauron admin; do $build/cli/rv keygen "$dir/keys/$k.key" >/dev/null || die "keygen"; done
cat >"$dir/pod.json" <<JSON
{"sauron": {"api": "tcp://127.0.0.1:$port", "pub": "tcp://127.0.0.1:$((port + 1))", "beacon_port": $((port + 2))}}
JSON
"$build/sauron/sauron" --pod "$dir/pod.json" >"$dir/sauron.log" 2>&1 &
sauron_pid=$!
for _ in $(seq 1 50); do $rv --timeout-ms 500 users >/dev/null 2>&1 && break; sleep 0.1; done
$rv users >/dev/null || die "sauron did not come up"

# ---- the fake on-push ----
mkdir -p "$dir/ctl" && chmod 777 "$dir/ctl"
cat >"$dir/on-push.sh" <<'SH'
#!/bin/sh
# --app A --commit C --source D --user U
ctl=$(dirname "$0")/ctl
echo "fake-on-push: args $*"
echo "fake-on-push: uid $(id -u)"
[ -f "$6/app.txt" ] && echo "fake-on-push: source has app.txt: $(cat "$6/app.txt")"
[ -d "$6/.git" ] && echo "fake-on-push: source has .git"
start=$(date +%s.%N)
sleep "$(cat "$ctl/sleep" 2>/dev/null || echo 0)"
echo "fake-on-push: line to stderr" >&2
echo "$start $(date +%s.%N) $4" >>"$ctl/deploys.log"
exit "$(cat "$ctl/exit" 2>/dev/null || echo 0)"
SH
chmod 755 "$dir/on-push.sh"
# The fake on-run (the console's `rv ... run`): --for U --max-run-s N APP -- LINE
cat >"$dir/on-run.sh" <<'SH'
#!/bin/sh
echo "fake-on-run: uid $(id -u) argc $#"
for a in "$@"; do echo "fake-on-run: arg [$a]"; done
echo "fake-on-run: to stderr" >&2
exit 7
SH
chmod 755 "$dir/on-run.sh"
# The fake on-app (`rv --pod POD`): VERB APP [FLAGS]
cat >"$dir/on-app.sh" <<'SH'
#!/bin/sh
echo "fake-on-app: uid $(id -u) args $*$([ "$1" = restart ] && echo " user $USER")"
exit 3
SH
chmod 755 "$dir/on-app.sh"

# ---- gitrecv ----
"$bindir/gitrecv" setup --pod "$dir/pod.json" --dir "$dir/gitrecv" --port "$sshd_port" --on-push "$dir/on-push.sh" \
  --on-run "$dir/on-run.sh" --on-app "$dir/on-app.sh" --max-repo-bytes 2000000 >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; die "gitrecv setup"; }
grep -q "ssh://rvgit@127.0.0.1:$sshd_port" "$dir/gitrecv/url" || die "setup wrote no url"
"$bindir/gitrecv" run --dir "$dir/gitrecv" 2>"$dir/sshd.stderr" &
sshd_pid=$!
for _ in $(seq 1 50); do ss -Hltn "sport = :$sshd_port" | grep -q . && break; sleep 0.1; done
ss -Hltn "sport = :$sshd_port" | grep -q . || die "sshd did not listen on $sshd_port"

# ---- users, keys, apps, access ----
mkdir -p "$dir/client"
for u in alice bob carol mallory; do ssh-keygen -q -t ed25519 -N '' -C "$u@test" -f "$dir/client/$u" || die "ssh-keygen"; done
for u in alice bob carol; do
  $rv users:add "$u" >/dev/null || die "users:add $u"
  $rv keys:add "$u" "$dir/client/$u.pub" >/dev/null || die "keys:add $u"
done
$rv users:add ../root >/dev/null 2>&1 && fail "users:add accepted ../root"
$rv keys:add bob "$dir/client/alice.pub" >/dev/null 2>&1 && fail "one key was enrolled for two users"
$rv apps:create acme/prod web >"$dir/create.out" || die "apps:create"
grep -q "git remote add rv ssh://rvgit@127.0.0.1:$sshd_port/acme/prod/web.git" "$dir/create.out" \
  || fail "apps:create printed no remote line: $(cat "$dir/create.out")"
$rv apps:create globex/prod api >/dev/null || die "apps:create globex"
$rv apps:create ../../x web >/dev/null 2>&1 && fail "apps:create accepted ../../x"
$rv config:set ../../x A=1 >/dev/null 2>&1 && fail "config:set accepted ../../x"
$rv submit --service s --env ../../x -- true >/dev/null 2>&1 && fail "submit accepted --env ../../x"
$rv access:grant alice acme/prod >/dev/null || die "grant alice"
$rv access:grant bob acme/prod --read-only >/dev/null || die "grant bob"
$rv access:grant carol globex/prod >/dev/null || die "grant carol"
$rv users | grep -q "bob .*acme/prod(read-only)" || fail "rv users does not show bob's read-only access"
$rv events --limit 100 | grep -q "access.grant" || fail "no access.grant event"

base="ssh://rvgit@127.0.0.1:$sshd_port"
as() {  # as USER CMD...: run git with USER's key
  local u=$1
  shift
  GIT_SSH_COMMAND="ssh -F /dev/null -i $dir/client/$u -p $sshd_port -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR" "$@"
}
remote_main() { as alice git ls-remote "$base/acme/prod/web.git" refs/heads/main 2>/dev/null | cut -f1; }
commit() {  # commit REPO TEXT
  echo "$2" >"$1/app.txt" && git -C "$1" add -A && git -C "$1" -c user.name=t -c user.email=t@t commit -qm "$2"
}

# ---- a push deploys; its output comes back as remote: lines ----
git init -q -b main "$dir/work"
commit "$dir/work" v1
as alice git -C "$dir/work" push "$base/acme/prod/web.git" main >"$dir/push1.out" 2>&1 || { cat "$dir/push1.out" >&2; die "first push failed"; }
v1=$(git -C "$dir/work" rev-parse HEAD)
grep -q "^remote: fake-on-push: args --app acme/prod/web --commit $v1 --source /.* --user alice" "$dir/push1.out" \
  || fail "on-push invocation not seen as remote: lines: $(cat "$dir/push1.out")"
grep -q "^remote: fake-on-push: source has app.txt: v1" "$dir/push1.out" || fail "the source dir did not hold the tree"
grep -q "^remote: fake-on-push: uid 0 *$" "$dir/push1.out" || fail "the on-push did not run as root (the deploy runner)"
grep -q "source has .git" "$dir/push1.out" && fail "the source dir holds .git"
grep -q "^remote: fake-on-push: line to stderr" "$dir/push1.out" || fail "on-push stderr not relayed"
grep -q "^remote: gitrecv: acme/prod/web deployed" "$dir/push1.out" || fail "no deployed line"
[ "$(remote_main)" = "$v1" ] || fail "main is not at the pushed commit"
ls /tmp/gitrecv-push.* >/dev/null 2>&1 && [ -n "$(find /tmp -maxdepth 1 -name 'gitrecv-push.*' -user rvgit -newer "$dir/pod.json" 2>/dev/null)" ] \
  && fail "the exported source was not removed"

# ---- the on-push failing fails the push; main stays ----
echo 3 >"$dir/ctl/exit"
commit "$dir/work" v2-broken
as alice git -C "$dir/work" push "$base/acme/prod/web.git" main >"$dir/push2.out" 2>&1 && fail "a failing on-push did not fail the push"
grep -q "deploy of acme/prod/web failed (exit 3); main stays at ${v1:0:12}" "$dir/push2.out" || fail "no failure message: $(cat "$dir/push2.out")"
[ "$(remote_main)" = "$v1" ] || fail "main moved although the deploy failed"
rm -f "$dir/ctl/exit"

# ---- refusals, each with its message ----
expect_refused() {  # expect_refused NAME PATTERN CMD...
  local name=$1 pattern=$2
  shift 2
  if "$@" >"$dir/r.out" 2>&1; then
    fail "$name: accepted"
  elif ! grep -q -- "$pattern" "$dir/r.out"; then
    fail "$name: message lacks '$pattern': $(tr '\n' '|' <"$dir/r.out")"
  fi
}
expect_refused "push to an app that does not exist" "app acme/prod/nope does not exist" \
  as alice git -C "$dir/work" push "$base/acme/prod/nope.git" main
expect_refused "push to another tenant's app" "has no access to globex/prod/api" \
  as alice git -C "$dir/work" push "$base/globex/prod/api.git" main
expect_refused "push by a user without access" "carol has no access to acme/prod/web" \
  as carol git -C "$dir/work" push "$base/acme/prod/web.git" main
expect_refused "clone of another tenant's app" "carol has no access to acme/prod/web" \
  as carol git clone -q "$base/acme/prod/web.git" "$dir/carol-clone"
[ -d "$dir/carol-clone/.git" ] && fail "carol's clone left a repo"
expect_refused "a key that is not enrolled" "Permission denied (publickey)" \
  as mallory git clone -q "$base/acme/prod/web.git" "$dir/mallory-clone"
ssh_as() {  # ssh_as USER COMMAND: a raw ssh session
  local u=$1
  shift
  ssh -F /dev/null -i "$dir/client/$u" -p "$sshd_port" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR rvgit@127.0.0.1 "$@" </dev/null
}
expect_refused "a shell" "no shell here" ssh_as alice
expect_refused "another command" "only git push, git clone/fetch, run and the app commands (logs, ps, releases, builds, config, config:set, config:unset, rollback, restart, domains, domains:add, domains:remove) are served here" ssh_as alice "cat /etc/passwd"
expect_refused "a path escape" "must be TENANT/ENV/APP.git" ssh_as alice "git-upload-pack '/acme/prod/../../../etc'"
expect_refused "a path outside the repo root" "must be TENANT/ENV/APP.git" ssh_as alice "git-receive-pack '/etc/passwd'"
# ---- the console: ssh ... run APP -- COMMAND (docs/GITRECV.md "Console") ----
ssh_as alice run acme/prod/web -- 'echo $HOME; ls "a b"' >"$dir/run.out" 2>"$dir/run.err"
rc=$?
[ "$rc" = 7 ] || fail "the console did not pass the command's exit code on: $rc ($(cat "$dir/run.err"))"
grep -q "^fake-on-run: uid 0 argc 7$" "$dir/run.out" || fail "the console's command did not run as root with 7 args: $(head -n 3 "$dir/run.out")"
grep -q '^fake-on-run: arg \[echo \$HOME; ls "a b"\]$' "$dir/run.out" || fail "the command line did not arrive as one argument, as written: $(cat "$dir/run.out")"
tr '\n' ' ' <"$dir/run.out" | grep -q 'arg \[--for\] fake-on-run: arg \[alice\] fake-on-run: arg \[--max-run-s\] fake-on-run: arg \[1800\] fake-on-run: arg \[acme/prod/web\] fake-on-run: arg \[--\]' \
  || fail "the console's argv is not --for alice --max-run-s 1800 acme/prod/web --: $(cat "$dir/run.out")"
grep -q "fake-on-run: to stderr" "$dir/run.err" || fail "the command's stderr did not come back"
expect_refused "the console for a read-only user" "read-only access to acme/prod" ssh_as bob run acme/prod/web -- ls
expect_refused "the console on another tenant's app" "carol has no access to acme/prod/web" ssh_as carol run acme/prod/web -- ls
expect_refused "the console without a command" "no command given" ssh_as alice run acme/prod/web --
expect_refused "the console on a path" "must be TENANT/ENV/APP" ssh_as alice run ../../etc/x -- ls
expect_refused "the console with two lines" "one line" ssh_as alice run acme/prod/web -- "$(printf 'ls\nid')"
# ---- app commands: ssh ... logs|ps|...|rollback APP (docs/GITRECV.md "Looking after an app") ----
for u in alice bob; do  # bob's read-only grant is enough to look
  ssh_as "$u" logs acme/prod/web --tail --router >"$dir/view.out" 2>"$dir/view.err"
  rc=$?
  [ "$rc" = 3 ] || fail "$u's view did not pass rv's exit code on: $rc ($(cat "$dir/view.err"))"
  grep -qx "fake-on-app: uid 0 args logs acme/prod/web --safe -f --router" "$dir/view.out" \
    || fail "$u's logs did not run as root as the fixed rv command: $(cat "$dir/view.out")"
done
ssh_as bob builds:output acme/prod/web 2 >"$dir/view.out" 2>&1
grep -qx "fake-on-app: uid 0 args builds-output acme/prod/web 2" "$dir/view.out" || fail "builds:output: $(cat "$dir/view.out")"
ssh_as bob config acme/prod/web >"$dir/view.out" 2>&1  # the fake exits 3
grep -qx "fake-on-app: uid 0 args config acme/prod" "$dir/view.out" || fail "config is not its env's rv config: $(cat "$dir/view.out")"
ssh_as alice rollback acme/prod/web v2 >"$dir/view.out" 2>&1
grep -qx "fake-on-app: uid 0 args rollback acme/prod/web v2" "$dir/view.out" || fail "alice's rollback: $(cat "$dir/view.out")"
expect_refused "a rollback with read-only access" "read-only access to acme/prod" ssh_as bob rollback acme/prod/web
ssh_as alice config:set acme/prod/web --secret 'TOKEN=a;b$c' GREETING=hi >"$dir/view.out" 2>&1
grep -qx 'fake-on-app: uid 0 args config-set acme/prod --secret TOKEN=a;b$c GREETING=hi' "$dir/view.out" \
  || fail "alice's config:set is not its env's rv config:set, values as given: $(cat "$dir/view.out")"
ssh_as alice config:unset acme/prod/web GREETING >"$dir/view.out" 2>&1
grep -qx "fake-on-app: uid 0 args config-unset acme/prod GREETING" "$dir/view.out" || fail "alice's config:unset: $(cat "$dir/view.out")"
expect_refused "a config:set with read-only access" "change its config" ssh_as bob config:set acme/prod/web A=1
ssh_as alice restart acme/prod/web >"$dir/view.out" 2>&1
grep -qx "fake-on-app: uid 0 args restart acme/prod/web user alice" "$dir/view.out" || fail "alice's restart, as her: $(cat "$dir/view.out")"
expect_refused "a restart with read-only access" "restart it" ssh_as bob restart acme/prod/web
ssh_as alice domains:add acme/prod/web shop.example.com >"$dir/view.out" 2>&1
grep -qx "fake-on-app: uid 0 args domains-add acme/prod/web shop.example.com" "$dir/view.out" || fail "alice's domains:add: $(cat "$dir/view.out")"
ssh_as bob domains acme/prod/web >"$dir/view.out" 2>&1
grep -qx "fake-on-app: uid 0 args domains acme/prod/web" "$dir/view.out" || fail "bob's domains: $(cat "$dir/view.out")"
expect_refused "a domains:add with read-only access" "add or remove its names" ssh_as bob domains:add acme/prod/web b.example.com
expect_refused "a config:set of a word that is no var" "config:set takes KEY=VALUE words" ssh_as alice config:set acme/prod/web A=1 --pod /x
expect_refused "a view of another tenant's app" "carol has no access to acme/prod/web" ssh_as carol ps acme/prod/web
expect_refused "a view with a word it does not list" "logs does not take '--data-dir'" ssh_as alice logs acme/prod/web --data-dir /
expect_refused "a view of no app" "which app?" ssh_as alice releases
expect_refused "a push of another branch" "only branch main deploys; push it with: git push <remote> HEAD:main" \
  as alice git -C "$dir/work" push "$base/acme/prod/web.git" main:feature
git -C "$dir/work" reset -q --hard "$v1"
git -C "$dir/work" checkout -q --orphan empty
git -C "$dir/work" rm -q -rf . && git -C "$dir/work" -c user.name=t -c user.email=t@t commit -q --allow-empty -m empty
expect_refused "a commit with no files" "has no files" as alice git -C "$dir/work" push -f "$base/acme/prod/web.git" empty:main
expect_refused "deleting the deploy branch" "refusing to delete branch main" as alice git -C "$dir/work" push "$base/acme/prod/web.git" :main
git -C "$dir/work" checkout -q main
[ "$(remote_main)" = "$v1" ] || fail "a refused push moved main"

# ---- the size limit (2 MB in this test) ----
head -c 3000000 /dev/urandom >"$dir/work/huge.bin"
commit "$dir/work" huge
expect_refused "one pack over the size limit" "maximum allowed size" as alice git -C "$dir/work" push "$base/acme/prod/web.git" main
git -C "$dir/work" reset -q --hard "$v1"
head -c 1200000 /dev/urandom >"$dir/work/big1.bin"
commit "$dir/work" big1
as alice git -C "$dir/work" push -q "$base/acme/prod/web.git" main >"$dir/r.out" 2>&1 || fail "a push under the size limit failed: $(cat "$dir/r.out")"
big1=$(git -C "$dir/work" rev-parse HEAD)
head -c 1200000 /dev/urandom >"$dir/work/big2.bin"
commit "$dir/work" big2
expect_refused "a repo growing over the size limit" "over the size limit of 1.91 MB" \
  as alice git -C "$dir/work" push "$base/acme/prod/web.git" main
[ "$(remote_main)" = "$big1" ] || fail "an oversized push moved main"
git -C "$dir/work" reset -q --hard "$big1"

# ---- read-only access clones but cannot push ----
as bob git clone -q "$base/acme/prod/web.git" "$dir/bob" >"$dir/r.out" 2>&1 || fail "read-only clone failed: $(cat "$dir/r.out")"
[ "$(git -C "$dir/bob" rev-parse HEAD 2>/dev/null)" = "$big1" ] || fail "bob's clone is not at main"
commit "$dir/bob" from-bob
expect_refused "a push with read-only access" "may clone and fetch acme/prod/web, not push to it" \
  as bob git -C "$dir/bob" push "$base/acme/prod/web.git" main

# ---- two pushes at once: the second waits for the first ----
: >"$dir/ctl/deploys.log"
echo 2 >"$dir/ctl/sleep"
as alice git clone -q "$base/acme/prod/web.git" "$dir/a1" && as alice git clone -q "$base/acme/prod/web.git" "$dir/a2" || die "clones for the concurrent push"
commit "$dir/a1" race-1
commit "$dir/a2" race-2
as alice git -C "$dir/a1" push -f "$base/acme/prod/web.git" main >"$dir/race1.out" 2>&1 &
p1=$!
as alice git -C "$dir/a2" push -f "$base/acme/prod/web.git" main >"$dir/race2.out" 2>&1 &
p2=$!
wait $p1 || fail "concurrent push 1 failed: $(cat "$dir/race1.out")"
wait $p2 || fail "concurrent push 2 failed: $(cat "$dir/race2.out")"
rm -f "$dir/ctl/sleep"
[ "$(wc -l <"$dir/ctl/deploys.log")" = 2 ] || fail "expected two deploys, got: $(cat "$dir/ctl/deploys.log")"
sort -n "$dir/ctl/deploys.log" | awk 'NR == 1 {end = $2} NR == 2 && $1 < end {exit 1}' \
  || fail "two deploys of one app overlapped: $(cat "$dir/ctl/deploys.log")"
cat "$dir/race1.out" "$dir/race2.out" | grep -q "another push to acme/prod/web is running; waiting for it to finish" \
  || fail "the second push did not say it waits"

# ---- apps:destroy: the app is gone for git too ----
$rv apps:destroy acme/prod/web >/dev/null || fail "apps:destroy"
expect_refused "a push to a destroyed app" "app acme/prod/web does not exist" \
  as alice git -C "$dir/a1" push -f "$base/acme/prod/web.git" main

# ---- kill -9 of gitrecv, restart: the next push works ----
$rv apps:create acme/prod web >/dev/null || fail "apps:create after destroy"
kill -9 "$sshd_pid"
wait "$sshd_pid" 2>/dev/null
for _ in $(seq 1 50); do ss -Hltn "sport = :$sshd_port" | grep -q . || break; sleep 0.1; done
ss -Hltn "sport = :$sshd_port" | grep -q . && fail "sshd outlived gitrecv run's kill -9"
"$bindir/gitrecv" run --dir "$dir/gitrecv" 2>>"$dir/sshd.stderr" &
sshd_pid=$!
for _ in $(seq 1 50); do ss -Hltn "sport = :$sshd_port" | grep -q . && break; sleep 0.1; done
commit "$dir/a1" after-restart
as alice git -C "$dir/a1" push -f "$base/acme/prod/web.git" main >"$dir/r.out" 2>&1 || fail "push after a restart failed: $(cat "$dir/r.out")"
grep -q "^remote: gitrecv: acme/prod/web deployed" "$dir/r.out" || fail "push after a restart did not deploy"

if [ "$failures" -gt 0 ]; then
  echo "--- sshd log ---" >&2
  tail -n 40 "$dir/gitrecv/sshd.log" >&2
  echo "gitrecv_push: $failures checks failed" >&2
  exit 1
fi
echo "gitrecv_push: all checks passed"
