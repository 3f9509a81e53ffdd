#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, without systemd, for tests.
#
# Usage (as root):
#   local-cluster.sh install      apt-get install slurmctld slurmd slurm-client munge
#                                 (no-op when they are already installed)
#   local-cluster.sh up DIR       write a one-node configuration under DIR, start
#                                 munged, slurmctld and slurmd, wait for an idle node,
#                                 print `export SLURM_CONF=DIR/etc/slurm.conf`
#   local-cluster.sh down DIR     cancel every job, then stop the daemons that `up DIR`
#                                 started (by their pid files); safe to run twice
#
# Everything lives in DIR: etc/ (slurm.conf, munge.key), run/ (munge socket, pid
# files), spool/ (controller state, slurmd spool), log/ (munged.log, slurmd.log,
# slurmctld/slurmctld.log). Nothing
# is written to /etc and no system service is touched, so `down DIR; rm -rf DIR`
# leaves the machine as it was (apart from the installed packages).
#
# Environment:
#   SLURMCTLD_PORT, SLURMD_PORT   TCP ports (default 6817, 6818); change them to run
#                                 two clusters at once
#   LOCAL_CLUSTER_TIMEOUT         seconds allowed for each wait (default 30)
#
# Facts this relies on (checked on Debian 12, Slurm 22.05): see
# /work/shared/notes/slurm-single-node.md or docs/cluster.md.
set -euo pipefail

readonly PACKAGES=(slurmctld slurmd slurm-client munge)
readonly CTLD_PORT="${SLURMCTLD_PORT:-6817}"
readonly SLURMD_PORT="${SLURMD_PORT:-6818}"
readonly TIMEOUT="${LOCAL_CLUSTER_TIMEOUT:-30}"

log() { printf 'local-cluster: %s\n' "$*" >&2; }

# die MESSAGE [LOGFILE]: print the error and, when given, the tail of a daemon log.
die() {
    printf 'local-cluster: error: %s\n' "$1" >&2
    if [[ $# -ge 2 && -f "$2" ]]; then
        printf -- '--- last lines of %s ---\n' "$2" >&2
        tail -n 25 "$2" >&2
        printf -- '---\n' >&2
    fi
    exit 1
}

usage() {
    sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# wait_until SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s until it
# succeeds; return 1 when SECONDS have passed.
wait_until() {
    local seconds="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            log "gave up after ${seconds}s waiting for ${what}"
            return 1
        fi
        sleep 0.1
    done
}

# ---------------------------------------------------------------- install

installed() {
    local pkg status
    for pkg in "${PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
        [[ "$status" == "install ok installed" ]] || return 1
    done
}

cmd_install() {
    if installed; then
        log "already installed: ${PACKAGES[*]}"
        return 0
    fi
    [[ "$(id -u)" -eq 0 ]] || die "install needs root"
    log "installing ${PACKAGES[*]}"
    # The packages' install scripts try to start the daemons through the init
    # system and are refused here (no systemd): harmless, we start them ourselves.
    # A stale package list makes apt fail with 404s: update once and retry then.
    local apt=(apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600)
    if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${PACKAGES[@]}" >&2; then
        log "install failed; running apt-get update once and retrying"
        apt-get update -q -o DPkg::Lock::Timeout=600 >&2
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${PACKAGES[@]}" >&2
    fi
    installed || die "packages still not installed: ${PACKAGES[*]}"
}

# ---------------------------------------------------------------- paths

# The layout inside DIR; every function below uses these after set_paths DIR.
set_paths() {
    D="$1"
    CONF="$D/etc/slurm.conf"
    KEY="$D/etc/munge.key"
    SOCKET="$D/run/munge/munge.socket"
    MUNGE_PID="$D/run/munged.pid"
    CTLD_PID="$D/run/slurmctld.pid"
    SLURMD_PID="$D/run/slurmd.pid"
    MUNGE_LOG="$D/log/munged.log"
    CTLD_LOG="$D/log/slurmctld/slurmctld.log"
    SLURMD_LOG="$D/log/slurmd.log"
}

# absolute DIR; creates it. Daemons get absolute paths, whatever the caller's cwd.
absolute_dir() {
    mkdir -p -- "$1"
    (cd -- "$1" && pwd -P)
}

# ---------------------------------------------------------------- pid files

# owned_pid PIDFILE NAME: print the pid in PIDFILE when that process is still a
# NAME started for this DIR (its command line mentions DIR); a reused pid or a
# daemon of another cluster is never reported.
owned_pid() {
    local pidfile="$1" name="$2" pid comm cmdline
    [[ -s "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] || return 1
    comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || return 1
    [[ "$comm" == "$name" ]] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$D/"* ]] || return 1
    printf '%s\n' "$pid"
}

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# stop_daemon PIDFILE NAME LOG: SIGTERM the daemon we started, wait (bounded),
# SIGKILL it if it did not go; remove the pid file.
stop_daemon() {
    local pidfile="$1" name="$2" logfile="$3" pid
    if ! pid="$(owned_pid "$pidfile" "$name")"; then
        rm -f -- "$pidfile"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_until "$TIMEOUT" "$name (pid $pid) to exit" pid_gone "$pid"; then
        log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
        [[ -f "$logfile" ]] && tail -n 10 "$logfile" >&2
        kill -KILL "$pid" 2>/dev/null || true
        wait_until 5 "$name (pid $pid) to die" pid_gone "$pid" ||
            die "could not stop $name (pid $pid)"
    fi
    rm -f -- "$pidfile"
}

# ---------------------------------------------------------------- up

port_free() {
    ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

write_config() {
    local host node_line
    host="$(hostname -s)"
    # `slurmd -C` prints this machine's node line (CPUs, sockets, RealMemory...)
    # and an UpTime line we do not want.
    node_line="$(slurmd -C 2>/dev/null | grep -m1 '^NodeName=')" ||
        die "slurmd -C printed no NodeName line"
    NODE="${node_line#NodeName=}"
    NODE="${NODE%% *}"
    cat >"$CONF" <<EOF
# One-node test cluster written by scripts/slurm/local-cluster.sh; all state in $D.
ClusterName=shardgen-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$D/spool/ctld
SlurmdSpoolDir=$D/spool/d
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups, no systemd: track processes through /proc, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
# No mail on this machine (the default /usr/bin/mail is missing and logs an error).
MailProg=/bin/true
SwitchType=switch/none
# Schedule CPUs (not whole nodes), so array tasks share the node.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# No accounting: check jobs with 'scontrol show job -o' instead of sacct.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# A node that was down comes back by itself once slurmd registers.
ReturnToService=2
# The default batch delay adds ~3 s per wave of jobs.
SchedulerParameters=batch_sched_delay=0
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

munged_ready() { owned_pid "$MUNGE_PID" munged >/dev/null && [[ -S "$SOCKET" ]]; }
ctld_answers() { scontrol ping 2>/dev/null | grep -q 'is UP'; }

node_idle() {
    local state
    state="$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null)" || return 1
    [[ "$state" == "idle" ]]
}

cmd_up() {
    [[ "$(id -u)" -eq 0 ]] || die "up needs root (slurmd runs as root)"
    installed || die "slurm packages missing: run '$0 install' first"
    id slurm >/dev/null 2>&1 || die "user 'slurm' missing (installed by slurmctld)"
    set_paths "$(absolute_dir "$1")"

    if owned_pid "$MUNGE_PID" munged >/dev/null || owned_pid "$CTLD_PID" slurmctld >/dev/null ||
        owned_pid "$SLURMD_PID" slurmd >/dev/null; then
        die "a cluster is already running in $D: run '$0 down $D' first"
    fi
    local port
    for port in "$CTLD_PORT" "$SLURMD_PORT"; do
        port_free "$port" || die "TCP port $port is in use (another cluster?); set SLURMCTLD_PORT/SLURMD_PORT"
    done

    # munged refuses group/world-writable folders (without sticky bit) and a socket
    # folder others cannot enter; slurmctld (user slurm) must reach its files too.
    umask 022
    chmod 0755 "$D"
    mkdir -p "$D/etc" "$D/run/munge" "$D/spool/ctld" "$D/spool/d" "$D/log/slurmctld"
    # slurmctld (user slurm) wants a writable folder for its log (it chdirs there),
    # while munged refuses a log path with any folder not owned by root: hence
    # log/slurmctld/ owned by slurm beside root's log/.
    chown slurm: "$D/spool/ctld" "$D/log/slurmctld"
    if ! runuser -u slurm -- test -w "$D/spool/ctld"; then
        die "user slurm cannot reach $D (a parent folder is not world-executable?)"
    fi

    # From here on, a failure (or ^C) stops whatever was started.
    trap 'rc=$?; if ((rc != 0)); then log "bring-up failed; stopping what was started"; cmd_down_paths || true; fi' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    [[ -s "$KEY" ]] || mungekey --create --keyfile="$KEY" >&2
    chmod 0600 "$KEY"
    write_config
    export SLURM_CONF="$CONF"

    log "starting munged"
    munged --key-file="$KEY" --socket="$SOCKET" --pid-file="$MUNGE_PID" \
        --log-file="$MUNGE_LOG" --seed-file="$D/run/munged.seed" ||
        die "munged did not start" "$MUNGE_LOG"
    wait_until "$TIMEOUT" "munged" munged_ready ||
        die "munged is not running" "$MUNGE_LOG"

    log "starting slurmctld"
    slurmctld -f "$CONF" || die "slurmctld did not start" "$CTLD_LOG"
    wait_until "$TIMEOUT" "slurmctld to answer" ctld_answers ||
        die "slurmctld does not answer" "$CTLD_LOG"
    owned_pid "$CTLD_PID" slurmctld >/dev/null || die "slurmctld wrote no pid file $CTLD_PID" "$CTLD_LOG"

    log "starting slurmd (node $NODE)"
    slurmd -f "$CONF" -N "$NODE" || die "slurmd did not start" "$SLURMD_LOG"
    wait_until "$TIMEOUT" "node $NODE to be idle" node_idle ||
        die "node $NODE not idle (state: $(sinfo -h -n "$NODE" -o '%T' 2>&1))" "$SLURMD_LOG"
    owned_pid "$SLURMD_PID" slurmd >/dev/null || die "slurmd wrote no pid file $SLURMD_PID" "$SLURMD_LOG"

    trap - EXIT INT TERM
    log "node $NODE is idle; logs in $D/log"
    printf 'export SLURM_CONF=%q\n' "$CONF"
}

# ---------------------------------------------------------------- down

# Cancel every job of this cluster and wait (bounded) until none is left, so no
# job step outlives slurmd.
no_jobs() { [[ -z "$(squeue -h -o '%A' 2>/dev/null)" ]]; }

cancel_jobs() {
    owned_pid "$CTLD_PID" slurmctld >/dev/null || return 0
    export SLURM_CONF="$CONF"
    local jobs
    jobs="$(squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ')" || return 0
    [[ -n "${jobs// /}" ]] || return 0
    log "cancelling jobs: $jobs"
    # shellcheck disable=SC2086  # one word per job id
    scancel $jobs 2>/dev/null || true
    wait_until "$TIMEOUT" "cancelled jobs to end" no_jobs ||
        log "warning: jobs still listed after ${TIMEOUT}s: $(squeue -h 2>&1 | head -5)"
}

cmd_down_paths() {
    cancel_jobs
    stop_daemon "$SLURMD_PID" slurmd "$SLURMD_LOG"
    stop_daemon "$CTLD_PID" slurmctld "$CTLD_LOG"
    stop_daemon "$MUNGE_PID" munged "$MUNGE_LOG"
}

cmd_down() {
    if [[ ! -d "$1" ]]; then
        log "nothing to stop: $1 does not exist"
        return 0
    fi
    set_paths "$(cd -- "$1" && pwd -P)"
    cmd_down_paths
    log "down: $D"
}

# ---------------------------------------------------------------- main

case "${1:-}" in
    install) [[ $# -eq 1 ]] || usage; cmd_install ;;
    up) [[ $# -eq 2 ]] || usage; cmd_up "$2" ;;
    down) [[ $# -eq 2 ]] || usage; cmd_down "$2" ;;
    *) usage ;;
esac
