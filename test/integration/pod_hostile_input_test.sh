#!/usr/bin/env bash
# pod_hostile_input: hostile input through `rv` (an admin's or a tenant's
# typing, files and bytes) is refused with a reason, and no daemon of the pod
# goes down.
#
# One-host pod (scripts/pod up, real registry, busybox stack, the edge and, when
# sshd is there, the git server). Each command below must exit non-zero with
# a message that says something, in printable text (no terminal control byte
# reaches the operator's screen), without a C++ exception's text. Inputs:
# bytes that are not UTF-8 in config vars, commands, images, labels, names and
# domains; oversized values; path-like and reserved names; names a proxy map
# or a shell would split; garbage, private and option-prefixed SSH keys;
# garbage certificates; out-of-range numbers. Then every daemon started by
# `up` must still run with the PID it had, and sauron must still answer
# without having caught a handler's exception (api.handler_threw).
# (A config var with one Latin-1 byte used to end every strider that started
# a container of its env: see pod_secrets and EnvConfigTest.)
# Needs root (runc, overlayfs, netns); skips otherwise.
#   pod_hostile_input_test.sh REPO_ROOT BUILD_DIR
set -u
root=$1
export RV_BUILD=$2
. "$root/test/integration/need.bash"
. "$root/test/integration/one_host_pod.bash"
need_root_and pod_hostile_input docker-registry runc ip openssl script
dir=$(mktemp -d /tmp/rv-podhostile.XXXXXX)
chmod 755 "$dir"  # the git server's user must reach its repos under it
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
rv="$RV_BUILD/cli/rv --pod $dir/pod.json"
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/logs/*.log; do [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 8 "$f" >&2; }; done
  exit 1
}
cleanup() { one_host_pod_cleanup "$dir" "rv-esc-"; }
trap cleanup EXIT

"$root/scripts/pod" up --hosts 1 --dir "$dir" --base-port "$port" >"$dir/up.log" 2>&1 || { cat "$dir/up.log" >&2; fail "pod up"; }
declare -A pid_of
for f in "$dir"/pids/*.pid; do pid_of[$(basename "$f" .pid)]=$(cat "$f"); done
echo "daemons: ${!pid_of[*]}"
for d in sauron elrond strider-h1 overlayd-h1; do [ -n "${pid_of[$d]:-}" ] || fail "no $d pid after pod up"; done
domain=${RV_POD_DOMAIN:-rivendell.test}  # scripts/pod's default

# Setup a tenant's app to aim at.
$rv apps:create acme/prod web >/dev/null || fail "apps:create"
$rv users:add bob >/dev/null || fail "users:add"

n=0
# refused WHAT ARGS...: rv ARGS must fail, saying why in printable text.
refused() {
  local what=$1 out rc
  shift
  n=$((n + 1))
  out=$($rv "$@" 2>&1)
  rc=$?
  [ $rc -ne 0 ] || fail "$what: accepted (rv $*): $out"
  [ -n "$out" ] || fail "$what: refused without a word"
  if LC_ALL=C grep -q '[^[:print:][:space:]]' <<<"$out"; then
    fail "$what: the refusal holds bytes that are not printable: $(printf %q "$out")"
  fi
  if grep -q "terminate called\|what():\|Aborted\|Segmentation" <<<"$out"; then fail "$what: $out"; fi
  echo "  refused ($what): $(head -c 160 <<<"$out" | head -n 1)"
}
latin1=$(printf 'caf\351')
big=$(head -c 40000 /dev/zero | tr '\0' x)
long_label=$(printf 'a%.0s' $(seq 1 70))

refused "config value not UTF-8" config:set acme/prod "GREETING=$latin1"
refused "config name not UTF-8" config:set acme/prod "$(printf 'K\351')=v"
refused "config value over 32 KiB" config:set acme/prod "BIG=$big"
refused "config name with a digit first" config:set acme/prod "1BAD=x"
refused "config name reserved" config:set acme/prod "RV_JOB_ID=x"
refused "config env a path" config:set "../../etc" A=1
refused "config env upper case" config:set "Acme/prod" A=1
refused "submit: command not UTF-8" submit --service hx1 --image stack/busybox:latest -- "/bin/echo $latin1"
refused "submit: image not UTF-8" submit --service hx2 --image "stack/$latin1:latest" -- true
refused "submit: service not UTF-8" submit --service "hx$latin1" --image stack/busybox:latest -- true
refused "submit: env a path" submit --service hx3 --env ../x --image stack/busybox:latest -- true
refused "app name not UTF-8" apps:create acme/prod "w$latin1"
refused "app name a path" apps:create acme/prod "../web"
refused "user name not UTF-8" users:add "b$latin1"
refused "domain not UTF-8" domains-add acme/prod/web "$latin1.example.com"
refused "domain with a space" domains-add acme/prod/web "a b.example.com"
refused "domain with a newline" domains-add acme/prod/web "$(printf 'a.example.com\nevil.example.com')"
refused "domain a wildcard" domains-add acme/prod/web "*.example.com"
refused "domain an IP address" domains-add acme/prod/web "10.1.2.3"
refused "domain over 253 chars" domains-add acme/prod/web "$(printf 'abcdefghij.%.0s' $(seq 1 24))com"
refused "domain under the pod's" domains-add acme/prod/web "other.prod.acme.$domain"
refused "domain for an app that does not exist" domains-add acme/prod/nope "shop.example.com"
head -c 3000 /dev/urandom >"$dir/garbage.pem"
printf -- '-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' "$(head -c 900 /dev/urandom | base64 -w 64)" >"$dir/fake.pem"
refused "cert garbage" certs-add web.prod.acme.$domain --cert "$dir/garbage.pem" --key "$dir/garbage.pem"
refused "cert PEM of garbage" certs-add web.prod.acme.$domain --cert "$dir/fake.pem" --key "$dir/fake.pem"
refused "cert file missing" certs-add web.prod.acme.$domain --cert "$dir/none.pem" --key "$dir/none.pem"
head -c 2000 /dev/urandom | base64 -w 0 >"$dir/garbage.pub"
printf 'ssh-ed25519 %s bob\n' "$(head -c 51 /dev/urandom | base64 -w 0)" >"$dir/wrongblob.pub"
printf 'command="sh" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x\n' >"$dir/options.pub"
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n' >"$dir/private.pub"
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl b\n' >"$dir/two.pub"
refused "ssh key garbage" keys:add bob "$dir/garbage.pub"
refused "ssh key blob not its type" keys:add bob "$dir/wrongblob.pub"
refused "ssh key with options" keys:add bob "$dir/options.pub"
refused "ssh private key" keys:add bob "$dir/private.pub"
refused "ssh two keys" keys:add bob "$dir/two.pub"
"$RV_BUILD/cli/rv" keygen "$dir/h9.key" >/dev/null 2>&1 || fail "keygen"
refused "host label not UTF-8" hosts enroll h9 --key "$dir/h9.key.pub" --label "zone=$latin1"
refused "host label key too long" hosts enroll h9 --key "$dir/h9.key.pub" --label "$long_label=1"
refused "rollback to a huge release" rollback acme/prod/web v99999999999999999999
refused "rollback to no release" rollback acme/prod/web vx
refused "scale negative" ps:scale acme/prod/web web=-1
refused "scale not a number" ps:scale acme/prod/web web=lots
refused "scale type not UTF-8" ps:scale acme/prod/web "w$latin1=1"
echo "$n hostile inputs refused"

# What an app prints is its clients' text: `rv logs` on a terminal shows it
# without escape sequences (cli/log_printer.h); --raw, or a pipe, as logged.
$rv submit --service esc --image stack/busybox:latest --ram-mb 32 -- \
  /bin/sh -c 'printf "hello \033]0;owned\007world \033[2Jcaf\351\n"; exec sleep 600' >/dev/null || fail "submit esc"
for _ in $(seq 1 100); do
  $rv logs esc-1 2>/dev/null | grep -q hello && break
  sleep 0.2
done
$rv logs esc-1 | grep -q $'\033]0;owned' || fail "rv logs into a pipe is not the bytes as logged"
tty_out=$(script -qec "$rv logs esc-1" /dev/null) || fail "rv logs on a terminal failed: $tty_out"
grep -q "hello world" <<<"$tty_out" || fail "rv logs on a terminal lost the text: $(printf %q "$tty_out")"
if grep -q $'\033' <<<"$tty_out"; then fail "rv logs on a terminal passed an escape sequence: $(printf %q "$tty_out")"; fi
raw_out=$(script -qec "$rv logs esc-1 --raw" /dev/null)
grep -q $'\033]0;owned' <<<"$raw_out" || fail "rv logs --raw on a terminal changed the bytes"
echo "  rv logs on a terminal: $(printf %q "$(head -n 1 <<<"$tty_out")")"

# Every daemon is the one `up` started, and sauron still answers.
for d in "${!pid_of[@]}"; do
  p=${pid_of[$d]}
  [ -r "/proc/$p/cmdline" ] || fail "$d (pid $p) is gone after the hostile inputs"
done
$rv hosts >/dev/null || fail "sauron does not answer after the hostile inputs"
# Sauron survives a handler's throw (it answers Internal): count it instead.
threw=$($rv counters | awk '$1 == "api.handler_threw" {print $2}')
[ "${threw:-0}" = 0 ] || fail "a sauron request handler threw $threw time(s): see its log ('threw:')"
if grep -l "terminate called" "$dir"/logs/*.log 2>/dev/null; then fail "a daemon's log shows an uncaught exception"; fi
echo "PASS: pod_hostile_input: $n inputs refused; ${#pid_of[@]} daemons up throughout"
