#!/usr/bin/env bash
# pod_ca: scripts/pod-ca, the pod's certificate authority (openssl CLI).
#  * create makes a 0600 key and a CA certificate, and a second create keeps both;
#  * issue makes a 0600 leaf key and a leaf (+ CA chain) that verifies against
#    the CA, for serverAuth, not a CA, with the names and IPs as subjectAltName;
#  * bad names, IPs, --days and a missing CA are refused (exit 2 / 1), leaving no files.
#   pod_ca_test.sh REPO_ROOT
set -uo pipefail
root=$1
command -v openssl >/dev/null || { echo "FAIL: pod_ca: openssl is not installed (scripts/install-deps)" >&2; exit 1; }
ca="$root/scripts/pod-ca"
dir=$(mktemp -d /tmp/rv-podca.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
keys=$dir/keys

"$ca" create --dir "$keys" || fail "create"
[ "$(stat -c %a "$keys/pod-ca.key")" = 600 ] || fail "the CA key is not 0600"
openssl x509 -in "$keys/pod-ca.crt" -noout -ext basicConstraints | grep -q "CA:TRUE" || fail "the CA certificate is not a CA"
fp=$(openssl x509 -in "$keys/pod-ca.crt" -noout -fingerprint -sha256)
kh=$(sha256sum <"$keys/pod-ca.key")
"$ca" create --dir "$keys" || fail "create (again)"
[ "$(openssl x509 -in "$keys/pod-ca.crt" -noout -fingerprint -sha256)" = "$fp" ] || fail "a second create replaced the CA certificate"
[ "$(sha256sum <"$keys/pod-ca.key")" = "$kh" ] || fail "a second create replaced the CA key"
ls -a "$keys" | grep -q '^\.pod-ca\.' && fail "create left a temporary dir"

"$ca" issue --dir "$keys" --out "$dir/leaf" --name registry.pod --name '*.apps.pod' --ip 10.93.1.1 || fail "issue"
[ "$(stat -c %a "$dir/leaf.key")" = 600 ] || fail "the leaf key is not 0600"
openssl verify -CAfile "$keys/pod-ca.crt" "$dir/leaf.crt" >/dev/null || fail "the leaf does not verify against the CA"
san=$(openssl x509 -in "$dir/leaf.crt" -noout -ext subjectAltName)
for want in "DNS:registry.pod" "DNS:\*.apps.pod" "IP Address:10.93.1.1"; do
  grep -q "$want" <<<"$san" || fail "no $want in the SAN: $san"
done
openssl x509 -in "$dir/leaf.crt" -noout -ext extendedKeyUsage | grep -q "TLS Web Server Authentication" || fail "the leaf is not for serverAuth"
openssl x509 -in "$dir/leaf.crt" -noout -ext basicConstraints | grep -q "CA:FALSE" || fail "the leaf may sign certificates"
[ "$(grep -c "BEGIN CERTIFICATE" "$dir/leaf.crt")" = 2 ] || fail "the leaf file is not leaf + CA"
openssl x509 -in "$dir/leaf.crt" -noout -checkend 86400 >/dev/null || fail "the leaf expires within a day"
# Another CA's leaf does not verify against this one.
"$ca" create --dir "$dir/other" && "$ca" issue --dir "$dir/other" --out "$dir/foreign" --name registry.pod || fail "second CA"
openssl verify -CAfile "$keys/pod-ca.crt" "$dir/foreign.crt" >/dev/null 2>&1 && fail "a foreign leaf verifies against this CA"

n=0
for bad in "--name bad_name!" "--name -x" "--name a..b" "--name $(printf 'a%.0s' $(seq 1 64)).pod" "--name a/b" \
  "--ip not-an-ip" "--ip 10.0.0.1;rm" "--name ok.pod --days 0" "--name ok.pod --days 99999" ""; do
  # shellcheck disable=SC2086
  "$ca" issue --dir "$keys" --out "$dir/bad" $bad >/dev/null 2>&1
  rc=$?
  [ $rc = 2 ] || fail "issue accepted (or did not say usage for) '$bad': exit $rc"
  n=$((n + 1))
done
ls "$dir"/bad* >/dev/null 2>&1 && fail "a refused issue left files"
"$ca" issue --dir "$dir/noca" --out "$dir/x" --name a.pod >/dev/null 2>&1
[ $? = 1 ] || fail "issue without a CA did not fail with 1"
"$ca" frobnicate --dir "$keys" >/dev/null 2>&1
[ $? = 2 ] || fail "an unknown command is not a usage error"
echo "PASS: pod_ca (create idempotent, leaf verified with SANs/EKU, $n bad arguments refused)"
