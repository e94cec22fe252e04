#!/usr/bin/env bash
# The kit's test command: system packages if missing (with Chromium, for the gallery test), then every test (library and notebooks).
# dotnet restores the packages and the notebook kernel, and the kit patches TorchSharp itself.
set -euo pipefail
cd "$(dirname "$0")/.."
./environment/system-packages.sh --tests
dotnet test Course.sln "$@"
