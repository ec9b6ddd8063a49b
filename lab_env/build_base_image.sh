#!/usr/bin/env bash
# Build the lab's base image (harness-lab/base:bookworm) from a debootstrap rootfs, or reuse it
# when its recipe is unchanged. The logic lives in harness/deploy/images.py.
# Usage: lab_env/build_base_image.sh [--force] [--services]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 -m harness.deploy.images "$@"
