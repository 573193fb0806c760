#!/usr/bin/env bash
# Bring up a real one-node SLURM cluster on this machine (Debian 12, root, no systemd needed), so that
# tests can run the workflow through `snakemake --profile profiles/slurm`. Idempotent: when the cluster
# is already up this is a fast no-op; daemons that died are restarted.
#
# Usage:  bash .ci/start-slurm.sh [start|status|stop]      (default: start)
# Settings (environment):
#   SLURM_PARTITION   name of the single partition (default: debug; profiles/slurm uses it)
#   SLURM_WAIT_S      seconds to wait for the node to become idle before failing (default: 60)
#
# What `start` does: installs Debian's slurmctld slurmd slurm-client munge (--no-install-recommends) if
# missing, renders .ci/slurm/slurm.conf.in into /etc/slurm/slurm.conf (no accounting, no cgroups), makes a
# munge key if there is none, starts munged, slurmctld and slurmd directly, and waits until `sinfo` shows
# the node idle. `stop` ends exactly the daemons named in their PID files.
set -euo pipefail

T0=$(date +%s%N)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEMPLATE="$HERE/slurm/slurm.conf.in"
CONF=/etc/slurm/slurm.conf
PARTITION=${SLURM_PARTITION:-debug}
WAIT_S=${SLURM_WAIT_S:-60}
NODE=$(hostname -s)
PACKAGES=(slurmctld slurmd slurm-client munge)
MUNGE_PID=/run/munge/munged.pid
CTLD_PID=/run/slurm/slurmctld.pid
SLURMD_PID=/run/slurm/slurmd.pid
LOGS=(/var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log /var/log/munge/munged.log)

say() { echo "start-slurm: $*"; }
die() {
    echo "start-slurm: ERROR: $*" >&2
    for log in "${LOGS[@]}"; do
        [[ -f $log ]] && { echo "---- last lines of $log" >&2; tail -n 15 "$log" >&2; }
    done
    exit 1
}
elapsed() { local ms=$((($(date +%s%N) - T0) / 1000000)); printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)); }

# A daemon runs when the PID in its PID file is alive, is not a zombie, and has the expected name.
running() {
    local pidfile=$1 name=$2 pid state
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/stat ]] || return 1
    [[ $(</proc/"$pid"/comm) == "$name" ]] || return 1
    state=$(awk '{print $3}' /proc/"$pid"/stat)
    [[ $state != Z ]]
}

stop_daemon() {
    local pidfile=$1 name=$2 pid i
    running "$pidfile" "$name" || return 0
    pid=$(<"$pidfile")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 50); do running "$pidfile" "$name" || return 0; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
}

install_packages() {
    local missing=() pkg tmp_policy=0 try
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    say "installing ${missing[*]}"
    # Maintainer scripts must start no daemons (there is no init system to manage them); Docker-style
    # machines already forbid it with policy-rc.d, elsewhere we add one for the duration of the install.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && tmp_policy=1
    fi
    for try in 1 2 3; do
        if apt-get -o DPkg::Lock::Timeout=600 update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
                --no-install-recommends "${missing[@]}" >/dev/null; then
            break
        fi
        ((try < 3)) || { ((tmp_policy)) && rm -f /usr/sbin/policy-rc.d; die "apt-get could not install ${missing[*]}"; }
        sleep 5
    done
    ((tmp_policy)) && rm -f /usr/sbin/policy-rc.d
    say "installed in $(elapsed) s"
}

# Render the template; returns 0 when /etc/slurm/slurm.conf changed (the daemons must then restart).
write_config() {
    local hw cpus measured realmem defmem tmp
    [[ -f $TEMPLATE ]] || die "template $TEMPLATE is missing"
    # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
    hw=$(slurmd -C | head -n 1)
    [[ $hw == NodeName=* ]] || die "unexpected output of 'slurmd -C': $hw"
    cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
    measured=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
    [[ -n $cpus && -n $measured ]] || die "no CPUs/RealMemory in 'slurmd -C' output: $hw"
    hw=$(grep -o 'CPUs=[0-9]* .*ThreadsPerCore=[0-9]*' <<<"$hw")
    # 90% of what slurmd measures (a node advertising more than it has is drained as "Low RealMemory").
    realmem=$((measured * 9 / 10))
    defmem=$((realmem / cpus < 1024 ? realmem / cpus : 1024))
    tmp=$(mktemp)
    sed -e "s/@NODE@/$NODE/g" -e "s/@HW@/$hw/" -e "s/@REALMEM@/$realmem/" -e "s/@DEFMEM@/$defmem/" \
        -e "s/@PARTITION@/$PARTITION/" "$TEMPLATE" >"$tmp"
    grep -v '^#' "$tmp" | grep -q '@[A-Z]*@' && { rm -f "$tmp"; die "unrendered placeholder in $TEMPLATE"; }
    if cmp -s "$tmp" "$CONF"; then rm -f "$tmp"; return 1; fi
    mkdir -p /etc/slurm
    install -m 644 "$tmp" "$CONF"
    rm -f "$tmp"
    say "wrote $CONF (node $NODE: $hw RealMemory=$realmem, partition $PARTITION)"
}

prepare_dirs() {
    install -d -o munge -g munge -m 755 /run/munge
    install -d -o munge -g munge -m 700 /var/log/munge /var/lib/munge
    install -d -o slurm -g slurm -m 755 /run/slurm /var/spool/slurmctld /var/log/slurm
    install -d -m 755 /var/spool/slurmd
    if [[ ! -s /etc/munge/munge.key ]]; then
        install -d -o munge -g munge -m 700 /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        say "created /etc/munge/munge.key"
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
}

start_munge() {
    if ! running "$MUNGE_PID" munged; then
        # --force: reuse the socket/lock a killed munged left behind.
        runuser -u munge -- /usr/sbin/munged --force || die "munged did not start"
    fi
    local i
    for i in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0; sleep 0.1; done
    die "munge does not work (munge -n | unmunge fails)"
}

start_slurm_daemons() {
    local restart=$1 i
    if ((restart)); then stop_daemon "$SLURMD_PID" slurmd; stop_daemon "$CTLD_PID" slurmctld; fi
    # -c: start with no job records. This is a throwaway test cluster, and a controller that was killed
    # would otherwise recover jobs from its last state save as still running (they block the node forever).
    running "$CTLD_PID" slurmctld || /usr/sbin/slurmctld -c || die "slurmctld did not start"
    for i in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.1; done
    scontrol ping 2>/dev/null | grep -q 'is UP' || die "slurmctld does not answer 'scontrol ping'"
    running "$SLURMD_PID" slurmd || /usr/sbin/slurmd -N "$NODE" || die "slurmd did not start"
}

# Wait until the node is usable: idle (or already running jobs from an earlier test); resume it if down.
wait_node() {
    local deadline=$((SECONDS + WAIT_S)) state
    while ((SECONDS < deadline)); do
        state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n 1)
        case $state in
            idle | mixed | allocated | completing) return 0 ;;
            down* | drain*) scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
        esac
        sleep 0.2
    done
    scontrol show node "$NODE" >&2 || true
    die "node $NODE is '${state:-unknown}', not idle, after ${WAIT_S} s"
}

start() {
    [[ $(id -u) == 0 ]] || die "must run as root (it installs packages and starts system daemons)"
    command -v apt-get >/dev/null || die "needs a Debian-like system with apt-get"
    install_packages
    local restart=0
    write_config && restart=1
    prepare_dirs
    start_munge
    start_slurm_daemons "$restart"
    wait_node
    say "cluster up in $(elapsed) s: node $NODE $(sinfo -h -n "$NODE" -o %T), partition $PARTITION"
}

status() {
    local pidfile name
    for pair in "$MUNGE_PID munged" "$CTLD_PID slurmctld" "$SLURMD_PID slurmd"; do
        read -r pidfile name <<<"$pair"
        if running "$pidfile" "$name"; then echo "$name: running (pid $(<"$pidfile"))"; else echo "$name: not running"; fi
    done
    command -v sinfo >/dev/null && sinfo || true
}

stop() {
    stop_daemon "$SLURMD_PID" slurmd
    stop_daemon "$CTLD_PID" slurmctld
    stop_daemon "$MUNGE_PID" munged
    say "stopped"
}

case ${1:-start} in
    start) start ;;
    status) status ;;
    stop) stop ;;
    *) echo "usage: $0 [start|status|stop]" >&2; exit 2 ;;
esac
