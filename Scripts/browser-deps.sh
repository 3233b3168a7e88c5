#!/usr/bin/env bash
# Installs headless Chromium (Debian's `chromium`) for the report-page tests, when it is missing.
# The tests skip the browser checks without it, unless DAKIT_REQUIRE_BROWSER=1 (as in .ci/run).
set -euo pipefail
have() { command -v "$1" >/dev/null 2>&1; }
for b in chromium chromium-browser google-chrome; do have "$b" && exit 0; done
have apt-get || { echo "browser-deps: no chromium on PATH; install Chromium or Chrome for the report-page tests" >&2; exit 2; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  have sudo || { echo "browser-deps: run as root or install sudo to install chromium" >&2; exit 2; }
  sudo="sudo"
fi
echo "browser-deps: installing chromium" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
have chromium || { echo "browser-deps: installed, but chromium is not on PATH" >&2; exit 2; }
