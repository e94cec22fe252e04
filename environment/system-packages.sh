#!/usr/bin/env bash
# Installs the few Debian/Ubuntu libraries the kit's NuGet packages expect from the system, when they are
# missing and this user may install them. Today that is one: OpenCvSharp's native library (GrabCut, notebook 08)
# links GTK 3 (libgtk-3.so.0), which desktops have and minimal servers lack.
set -euo pipefail
missing=()
ldconfig -p | grep -q 'libgtk-3\.so\.0' || missing+=(libgtk-3-0)
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
    echo "(Without them only saliency-guided segmentation, notebook 08, fails.)" >&2
fi
