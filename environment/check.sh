#!/usr/bin/env bash
# The environment check: restores the kit's NuGet packages and tools, builds the library and the notebook runner, then says
# what it finds on this machine and what to fix (see environment/README.md). Exit code 1 when something needs fixing.
set -uo pipefail
cd "$(dirname "$0")/.."
dotnet tool restore >/dev/null || { echo "PROBLEM: \`dotnet tool restore\` failed: the notebook kernels (.config/dotnet-tools.json) are missing." >&2; exit 1; }
if ! dotnet build tests/NotebookRunner --nologo -v q -clp:ErrorsOnly; then
    if [ "$(dotnet msbuild lib/WhatNetworksLearn.csproj -getProperty:TorchBackend 2>/dev/null)" = cuda ]; then
        echo "PROBLEM: CUDA was chosen (TorchBackend=cuda) and the CUDA build of TorchSharp could not be restored or built (see above)." >&2
        echo "    TorchSharp-cuda-linux comes from NuGet and needs several GB. Or go back to the CPU: remove the line" >&2
        echo "    TorchBackend=cuda from kit.settings (or unset the environment variable TorchBackend) and run this again." >&2
    fi
    exit 1
fi
dotnet run --project tests/NotebookRunner --no-build -- --check
