#!/bin/sh
# A stand-in for `builder run` (CONTRACTS.md section 2) for rv-deploy's tests:
# same arguments and the same last line, without building anything. The image
# is the registry's stack/busybox:latest, named by digest; the process types
# are the source's Procfile ("name: command" lines). A file FAIL_BUILD in the
# source makes the build fail with its content as the reason; SLOW_BUILD makes
# it sleep 30 s (to be cancelled). With --env-dir,
# it prints the config vars' names.
#   fake_builder.sh run --source DIR --app APP --registry HOST:PORT --image REPO:TAG [...]
set -u
[ "${1:-}" = run ] || { echo "builder: error usage: run --source DIR ..."; exit 2; }
shift
src="" registry="" app="" image="" envdir="" ca="" auth=""
while [ $# -gt 0 ]; do
  case "$1" in
    --source) src=$2; shift 2 ;;
    --registry) registry=$2; shift 2 ;;
    --app) app=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --env-dir) envdir=$2; shift 2 ;;
    --registry-ca) ca=$2; shift 2 ;;
    --registry-auth) auth=$2; shift 2 ;;
    *) shift 2 ;;
  esac
done
echo "-----> Fake build of $app into $image"
# Names only, as a buildpack that reads ENV_DIR would see them.
[ -n "$envdir" ] && echo "       config vars: $(ls "$envdir" | tr '\n' ' ')"
if [ -f "$src/SLOW_BUILD" ]; then
  echo "compiling slowly"
  exec sleep 30  # the builder is this process: a SIGTERM ends it
fi
if [ -f "$src/FAIL_BUILD" ]; then
  echo "compile output before the failure"
  echo "builder: error $(head -n 1 "$src/FAIL_BUILD")"
  exit 1
fi
[ -f "$src/Procfile" ] || { echo "builder: error no Procfile in $src"; exit 1; }
echo "-----> Procfile app detected"
i=0
while [ $i -lt 3 ]; do echo "       compiling step $i"; i=$((i + 1)); done
# A TLS registry (--registry-ca): https, and the credential given to curl on
# stdin (-K -), never in its argv.
scheme=http cacert=""
if [ -n "$ca" ]; then scheme=https cacert="--cacert $ca"; fi
digest=$( { [ -n "$auth" ] && printf 'user = "%s"\n' "$(head -n 1 "$auth")"; true; } | curl -sfI -m 5 -K - $cacert \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "$scheme://$registry/v2/stack/busybox/manifests/latest" | tr -d '\r' | awk 'tolower($1)=="docker-content-digest:"{print $2}')
[ -n "$digest" ] || { echo "builder: error stack/busybox:latest is not in $registry"; exit 1; }
types=""
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; esac
  name=${line%%:*}
  cmd=${line#*:}
  cmd=${cmd# }
  esc=$(printf '%s' "$cmd" | sed 's/\\/\\\\/g; s/"/\\"/g')
  types="$types${types:+,}\"$name\":\"$esc\""
done <"$src/Procfile"
echo "builder: result {\"image\":\"stack/busybox@$digest\",\"digest\":\"$digest\",\"size_bytes\":1048576,\"process_types\":{$types},\"buildpacks\":[\"fake\"],\"seconds\":0}"
