#!/usr/bin/env bash
# Checks this machine for what the kit needs and says what to fix (see environment/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run --project tests/NotebookRunner -- --check
