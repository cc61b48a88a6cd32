#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver from Debian's packages, for the browser test
# (tests/tests/browser) and the screenshots. Idempotent: does nothing when chromedriver is
# already installed. Needs root (or sudo) and Debian's package sources.
set -euo pipefail

if [ -x /usr/bin/chromedriver ]; then
    echo "chromedriver present: $(/usr/bin/chromedriver --version 2>/dev/null || echo unknown version)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
echo "== installing chromium and chromium-driver (Debian packages)"
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium chromium-driver
/usr/bin/chromedriver --version
