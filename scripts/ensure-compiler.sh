#!/usr/bin/env bash
# A C compiler for the compiled Fusion loop (spinecoach.motion._cfusion, built by
# setup.py when the package is installed). Installed as root with apt-get when missing;
# otherwise the install goes on without it (imufusion's per-sample loop is used, slower,
# with one warning) and this says so. Instant when a compiler is there.
set -uo pipefail

if command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-compiler: no C compiler; running: apt-get update && apt-get install -y gcc libc6-dev"
    export DEBIAN_FRONTEND=noninteractive
    if apt-get update && apt-get install -y gcc libc6-dev; then
        exit 0
    fi
fi
echo "ensure-compiler: no C compiler: spinecoach installs without its compiled fusion loop" \
    "(slower batch analysis); install gcc (or cc) and run make again to build it" >&2
exit 0
