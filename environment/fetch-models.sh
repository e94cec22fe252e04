#!/usr/bin/env bash
# Downloads the official ImageNet weights (PyTorch's) into the kit's cache, once, with a SHA-256 check, so that the
# notebooks draw the lecture's ImageNet figures. Run it before class, online:
#   ./environment/fetch-models.sh                 # resnet18 (45 MB): every notebook's ImageNet figures
#   ./environment/fetch-models.sh vgg16 alexnet   # the other classifiers (528 MB and 233 MB)
# The cache is ~/.cache/what-networks-learn (KIT_CACHE overrides); KIT_MODEL_MIRROR names another server with the same files.
# Offline, it says which URL to download and where to place the file.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run --project tests/NotebookRunner -- --fetch "$@"
