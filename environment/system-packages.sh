#!/usr/bin/env bash
# Installs the few Debian/Ubuntu packages the kit expects from the system, when they are missing and this user
# may install them. For everyone: OpenCvSharp's native library (GrabCut, notebook 08) links GTK 3 (libgtk-3.so.0),
# which desktops have and minimal servers lack. With --tests also Chromium, in which a test opens the gallery
# (artifacts/index.html) as a browser would.
set -euo pipefail
missing=()
ldconfig -p | grep -q 'libgtk-3\.so\.0' || missing+=(libgtk-3-0)
if [ "${1:-}" = "--tests" ]; then
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing system libraries the kit needs: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "The kit needs these system libraries: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
    echo "(Without libgtk-3-0 only saliency-guided segmentation, notebook 08, fails; without chromium only the gallery test.)" >&2
fi
