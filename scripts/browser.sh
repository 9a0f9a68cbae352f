#!/usr/bin/env bash
# The browser tests (tests/browser_support.py) drive Debian's chromium through Playwright;
# Playwright's own browser download cannot be reached here, so CI installs Debian's packages
# (chromium, and chromium-driver for anyone using Selenium) when they are missing.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) at /usr/bin/chromium"
  exit 0
fi
echo "browser: installing chromium from Debian's packages"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
[ -x /usr/bin/chromium ] || { echo "browser: /usr/bin/chromium still missing" >&2; exit 1; }
echo "browser: $(/usr/bin/chromium --version) installed"
