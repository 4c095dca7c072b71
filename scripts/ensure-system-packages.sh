#!/usr/bin/env bash
# Install the system packages the tests need, only when they are missing (idempotent,
# instant when satisfied). Today: the PostgreSQL server binaries used by the store tests
# to start a throwaway cluster (tests/store/conftest.py).
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-system-packages: PostgreSQL server binaries are missing;" \
        "run as root: apt-get update && apt-get install -y postgresql" >&2
    exit 1
fi

echo "ensure-system-packages: no /usr/lib/postgresql/*/bin/initdb found;" \
    "running: apt-get update && apt-get install -y postgresql"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y postgresql
