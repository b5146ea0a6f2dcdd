#!/usr/bin/env bash
# `npm run setup`: installs the Debian packages `npm test` needs besides what
# `npm install` brings (Node 24, Bun and Deno come from npm): the reference
# broker and its clients, Chromium for the browser test, openssl for the TLS
# tests' certificates, curl and jq for the README's walkthroughs, and
# nats-server when the suite has cluster tests. It uses sudo when not root.
# .ci/run runs it too, so CI and a new machine install the same things.
#
# `scripts/setup.sh --check` installs nothing: it prints one line naming what is
# missing and `npm run setup` as the fix, and exits 1; or exits 0 silently.
# `npm test` runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

# program | Debian package | what needs it
REQUIREMENTS=(
  "mosquitto|mosquitto|the reference broker (benchmarks, comparisons)"
  "mosquitto_pub|mosquitto-clients|scenario tests and the README"
  "mosquitto_sub|mosquitto-clients|scenario tests and the README"
  "chromium|chromium|the browser test"
  "openssl|openssl|the TLS tests' certificates"
  "curl|curl|the README's walkthroughs"
  "jq|jq|the README's walkthroughs"
)
if [ -d test/cluster ]; then REQUIREMENTS+=("nats-server|nats-server|the cluster tests"); fi

# Whether a program is there: on the PATH, or in the sbin directories Debian
# installs daemons to (not on a normal user's PATH); Chromium where the browser
# test looks for it.
present() {
  case "$1" in
    chromium) [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ;;
  esac
}

# Fills missing_programs, missing_packages (of those) and all_packages.
scan() {
  missing_programs=() missing_packages=() all_packages=()
  for entry in "${REQUIREMENTS[@]}"; do
    IFS="|" read -r program package _ <<<"$entry"
    [[ " ${all_packages[*]} " == *" $package "* ]] || all_packages+=("$package")
    if ! present "$program"; then
      missing_programs+=("$program")
      [[ " ${missing_packages[*]} " == *" $package "* ]] || missing_packages+=("$package")
    fi
  done
}
scan

if [ "${1:-}" = "--check" ]; then
  [ ${#missing_programs[@]} -eq 0 ] && exit 0
  echo "npm test cannot run: missing ${missing_programs[*]} (Debian packages: ${missing_packages[*]}); install them with: npm run setup" >&2
  exit 1
fi

if [ ${#missing_programs[@]} -eq 0 ]; then
  echo "edgemq setup: everything npm test needs is installed (${all_packages[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "edgemq setup: apt-get not found; install these with your system's package manager: ${missing_programs[*]} (Debian names: ${missing_packages[*]})" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" != "0" ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "edgemq setup: installing packages needs root; run as root: apt-get install ${all_packages[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "edgemq setup: missing ${missing_programs[*]}; installing the Debian packages ${all_packages[*]} with ${sudo[*]:+sudo }apt-get"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${all_packages[@]}" >/dev/null

scan
if [ ${#missing_programs[@]} -gt 0 ]; then
  echo "edgemq setup: still missing after the install: ${missing_programs[*]}" >&2
  exit 1
fi
echo "edgemq setup: done; npm test has what it needs"
