#!/usr/bin/env bash
# Installs the few Debian/Ubuntu packages the kit expects from the system, when they are missing and this user
# may install them. For everyone: OpenCvSharp's native library (GrabCut, notebook 08) links GTK 3 (libgtk-3.so.0),
# which desktops have and minimal servers lack. With --tests also Chromium, in which tests open the gallery
# (artifacts/index.html) and a chart as a browser would, and Jupyter's notebook executor (jupyter-nbconvert), with which
# a test runs notebooks as JupyterLab does. Never with recommended packages.
set -euo pipefail
missing=()
ldconfig -p | grep -q 'libgtk-3\.so\.0' || missing+=(libgtk-3-0)
if [ "${1:-}" = "--tests" ]; then
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || missing+=(chromium)
    jupyter nbconvert --version >/dev/null 2>&1 || missing+=(jupyter-nbconvert)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing system packages the kit needs: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "The kit needs these system packages: ${missing[*]}. Install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    echo "(Without libgtk-3-0 only saliency-guided segmentation, notebook 08, fails; without chromium only the gallery and chart tests;" >&2
    echo " without jupyter-nbconvert only the Jupyter test.)" >&2
fi
