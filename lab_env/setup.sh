#!/usr/bin/env bash
# Set this machine up as a lab bench: system packages, the harness itself, (with --engine) the
# Docker engine, the lab base image and the stand-in terminals, and (with --postgres) a PostgreSQL
# cluster the tests run the lab record against. Idempotent: a second run on a set-up machine takes
# seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
engine=0
postgres=0
for arg in "$@"; do
  case "$arg" in
    --engine) engine=1 ;;
    --postgres) postgres=1 ;;
    *) echo "usage: $0 [--engine] [--postgres]" >&2; exit 2 ;;
  esac
done

# chromium: browser checks and the report's PDF (never `playwright install`: no browser download
# works here); fonts-wqy-microhei: Chinese in PDFs and screenshots; libpcap0.8: scapy's BPF filters;
# openssl: the reference sample makes its certificate; poppler-utils: looking at PDF pages.
pkgs=(chromium fonts-wqy-microhei libpcap0.8 openssl poppler-utils iproute2 openssh-server openssh-client rsync)
if [ "$engine" = 1 ]; then pkgs+=(docker.io debootstrap); fi
if [ "$postgres" = 1 ]; then pkgs+=(postgresql); fi
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c "import harness, importlib.metadata as m; m.version('fintech-lab-harness')" >/dev/null 2>&1 \
   || [ "$root/pyproject.toml" -nt "$root/build/.installed" ]; then
  echo "setup: installing the harness (pip install -e .[dev])"
  python3 -m pip install -q --disable-pip-version-check -e "$root[dev]"
  mkdir -p "$root/build" && touch "$root/build/.installed"
fi
# Under pyenv a new console script (`harness`) needs its shim before the shell can find it.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
command -v harness >/dev/null || { echo "setup: the 'harness' command is not on PATH" >&2; exit 1; }
python3 -m pip check >/dev/null || { python3 -m pip check; exit 1; }

# Services a sample may declare (deployment.services): Debian's PostgreSQL server and redis-server.
# The harness starts a private instance of each per deployment (harness/deploy/services.py); it
# never uses a system-wide instance these packages may start.
svc_missing=()
for p in postgresql redis-server; do dpkg -s "$p" >/dev/null 2>&1 || svc_missing+=("$p"); done
if [ "${#svc_missing[@]}" -gt 0 ]; then
  echo "setup: installing ${svc_missing[*]} (services samples declare)"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${svc_missing[@]}" >/dev/null
fi

# The lab configuration (identity, signatories, report-signing certificate): made from
# lab_env/lab.example.yaml with a lab test certificate when missing; an existing one is kept.
python3 -m harness lab init

if [ "$engine" = 1 ]; then
  # gitlab-ci-local runs the example retest pipeline for real in the tests; 4.72.0 is the last
  # release that starts on Node 20 (4.74+ needs Node 22).
  if ! command -v gitlab-ci-local >/dev/null 2>&1 || [ "$(gitlab-ci-local --version)" != "4.72.0" ]; then
    echo "setup: installing gitlab-ci-local 4.72.0 (npm)"
    npm install -g --silent gitlab-ci-local@4.72.0 >/dev/null
  fi
  bash "$here/setup_docker.sh"
  bash "$here/build_base_image.sh" --services  # --services: the image of declared services (~5 min once)
  python3 "$here/standin_terminals.py" up
fi
if [ "$postgres" = 1 ]; then bash "$here/setup_postgres.sh"; fi
echo "setup: ok"
