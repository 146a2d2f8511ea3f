# Sourced by the shell pod tests: `need_root_and TEST PROGRAM...`.
# Not root: the test cannot run here at all and says so (exit 77, CTest's skip;
# CI runs as root). Root but a program missing: the test FAILS saying which one
# is not installed, so a machine without it never passes quietly and a missing
# program never looks like the fault under test.
need_root_and() {
  local test=$1 p missing=()
  shift
  if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: $test needs root (CI runs as root)" >&2
    exit 77
  fi
  for p in "$@"; do
    PATH=$PATH:/usr/sbin:/sbin command -v "$p" >/dev/null || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "FAIL: $test: not installed: ${missing[*]} (scripts/install-deps installs what the tests run)" >&2
    exit 1
  fi
}
