#!/usr/bin/env bash
# Debian's Chromium for the report's browser tests (Playwright drives it; it downloads no browser).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
