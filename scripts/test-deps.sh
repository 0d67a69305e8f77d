#!/usr/bin/env bash
# System packages the clinic tests need: a PostgreSQL server (the tests start a private cluster on
# loopback from it, see tests/clinic/pg.py), Debian's chromium for the Playwright browser tests, and
# poppler-utils (pdftotext) for the tests that read what a PDF report says.
# Installs only what is missing; needs root for apt-get. Never downloads a browser build of its own.
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/pdftotext ] || missing+=(poppler-utils)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: missing ${missing[*]}; install them as root (apt-get install -y ${missing[*]})" >&2
    # Without CI the affected tests skip with this reason; under CI=true they fail.
    exit 0
fi
echo "test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
