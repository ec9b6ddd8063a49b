#!/usr/bin/env bash
# Install Debian's docker.io and start dockerd as root, idempotently.
# These machines run no service manager, so dockerd is started directly in the background.
# Usage: lab_env/setup_docker.sh        (safe to run again: does nothing if the engine answers)
set -euo pipefail

LOG=/var/log/dockerd.log
WAIT_S=60

die() { echo "setup_docker: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (dockerd needs it)"

engine_up() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

if engine_up; then
    echo "setup_docker: engine already running ($(docker info --format '{{.ServerVersion}} {{.Driver}}'))"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # Update the package lists once, only when docker.io is not yet known to apt.
    if ! apt-cache show docker.io >/dev/null 2>&1; then
        apt-get update -q || die "apt-get update failed"
    fi
    apt-get install -y -q --no-install-recommends docker.io iptables \
        || die "apt-get install docker.io failed"
fi
# debootstrap builds the lab base image (lab_env/build_base_image.sh).
if ! command -v debootstrap >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap \
        || die "apt-get install debootstrap failed"
fi
# An existing /usr/local/bin/docker client (newer) is fine: it negotiates the engine's API version.
command -v docker >/dev/null 2>&1 || die "no docker client on PATH after installing docker.io"

start_dockerd() {  # $1: storage driver
    # A stale pid file from a killed dockerd makes the next one refuse to start.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    echo "setup_docker: starting dockerd (storage driver $1), log $LOG"
    nohup setsid dockerd --storage-driver "$1" >>"$LOG" 2>&1 </dev/null &
    local pid=$!
    local waited=0
    while [ "$waited" -lt "$WAIT_S" ]; do
        if engine_up; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "setup_docker: dockerd ($1) exited; last log lines:" >&2
            tail -n 15 "$LOG" >&2 || true
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    echo "setup_docker: dockerd ($1) did not answer within ${WAIT_S} s" >&2
    kill "$pid" 2>/dev/null || true
    return 1
}

# A dockerd may already be running but still starting (e.g. a parallel run): give it the wait.
if pgrep -x dockerd >/dev/null 2>&1; then
    for _ in $(seq "$WAIT_S"); do engine_up && break; sleep 1; done
    engine_up || die "a dockerd process exists but does not answer; see $LOG"
else
    # overlay2 is the fast driver; on a filesystem that cannot host it, vfs works everywhere (slower, bigger).
    start_dockerd overlay2 || start_dockerd vfs || die "dockerd failed to start with overlay2 and vfs; see $LOG"
fi

echo "setup_docker: engine up ($(docker info --format '{{.ServerVersion}}, storage {{.Driver}}, cgroup v{{.CgroupVersion}}'))"
