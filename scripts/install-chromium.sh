#!/usr/bin/env bash
# Debian's Chromium for the report's browser tests (Playwright drives it; it downloads no browser),
# and Debian's Tesseract, which reads the exported PNGs back to check their titles and captions.
set -euo pipefail
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -x /usr/bin/tesseract ] || missing="$missing tesseract-ocr"
if [ -z "$missing" ]; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
