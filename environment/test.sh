#!/usr/bin/env bash
# The kit's test command: system libraries if missing, then every test (library and notebooks).
# dotnet restores the packages and the notebook kernel, and the kit patches TorchSharp itself.
set -euo pipefail
cd "$(dirname "$0")/.."
./environment/system-packages.sh
dotnet test Course.sln "$@"
