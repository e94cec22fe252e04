#!/usr/bin/env bash
# Runs every notebook headless (or those whose names contain the arguments) and writes artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
./environment/system-packages.sh
dotnet run --project tests/NotebookRunner -- "$@"
