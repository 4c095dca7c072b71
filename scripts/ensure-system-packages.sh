#!/usr/bin/env bash
# Install the system packages the tests need, only when they are missing (idempotent,
# instant when satisfied):
# - the PostgreSQL server binaries used by the store tests to start a throwaway cluster
#   (tests/store/conftest.py);
# - Debian's Chromium, driven by Playwright in the browser tests
#   (tests/web/test_web_browser.py). `playwright install` is never used.
set -euo pipefail

missing=()
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    missing+=(postgresql)
fi
if [ ! -x /usr/bin/chromium ]; then
    missing+=(chromium)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-system-packages: missing system packages: ${missing[*]};" \
        "run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "ensure-system-packages: missing ${missing[*]};" \
    "running: apt-get update && apt-get install -y ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${missing[@]}"
