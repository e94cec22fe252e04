#!/usr/bin/env bash
# The kit's test command: system packages if missing (with Chromium and Jupyter's executor, for the browser and Jupyter tests), then every test.
# dotnet restores the packages and the notebook kernel, and the kit patches TorchSharp itself.
set -euo pipefail
cd "$(dirname "$0")/.."
./environment/system-packages.sh --tests
dotnet test Course.sln "$@"
