#!/usr/bin/env bash
# local-slurm.sh: a throw-away Slurm on this machine, for hrun's tests (and for trying the
# scripts in slurm/ without a cluster). Debian/Ubuntu, as root; no systemd needed.
#
#   slurm/dev/local-slurm.sh install              # apt-get the packages (munge, slurmctld, slurmd, client)
#   slurm/dev/local-slurm.sh start DIR [--watch PID]
#   export SLURM_CONF=DIR/slurm.conf              # then sbatch, srun, squeue, sinfo work
#   slurm/dev/local-slurm.sh stop DIR
#
# `start` writes DIR/slurm.conf and starts a munged of its own (socket, pid, log and seed files
# in DIR/munge; slurm.conf's AuthInfo points Slurm there), slurmctld and three slurmd,
# `node1`..`node3`, all on this machine (Debian's Slurm is built with multiple-slurmd support).
# `stop` stops all of them, munged included: nothing started here outlives the cluster, and a
# munged the machine runs for itself is never touched.
#
# THREE nodes, ONE machine: each node declares this machine's real CPU count, and
# TaskPlugin=task/affinity binds every job step to the CPUs Slurm gave it, as on a real
# cluster: a 1-CPU job sees one CPU, an exclusive job all of them. But node1..node3 are the
# same CPUs: jobs on different nodes (the elements of a job array, the shards of a multi-node
# job) share them, so timings here are oversubscribed and say nothing about a real cluster.
# Ask for at most 3 nodes (`--nodes=4` waits forever). One partition, `debug`, holds the three
# nodes. Everything (state, spool, logs, pid files) lives under DIR. With `--watch PID`, a
# background watcher stops the daemons and removes DIR when process PID ends (a test harness,
# which may be killed). Daemons are stopped by the PIDs in their pid files, never by name, so
# other Slurm and munge daemons on the machine are left alone.
#
# Exit status: 0 ready (start) or stopped (stop); 1 could not start (the reason on stderr, the
# daemons' logs in DIR/log); 2 usage.
set -euo pipefail

NODES=(node1 node2 node3)
FIRST_PORT=6818
CTLD_PORT=6817

usage() {
    sed -n '2,8p' "$0" >&2
    exit 2
}

die() {
    echo "local-slurm: $*" >&2
    for f in "${DIR:-/nonexistent}"/log/*.log; do
        [ -f "$f" ] && { echo "--- $f (last lines)" >&2; tail -n 5 "$f" >&2; }
    done
    exit 1
}

# A process that has exited but was not reaped (PID 1 here may not reap) counts as gone.
alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "timed out after ${secs}s waiting for $what"
        sleep 0.1
    done
}

write_conf() {
    local cpus
    cpus=$(nproc --all)
    mkdir -p "$DIR"/{state,log,spool}
    for n in "${NODES[@]}"; do mkdir -p "$DIR/spool/$n"; done
    cat > "$DIR/slurm.conf" <<EOF
# Written by hrun's slurm/dev/local-slurm.sh: a throw-away cluster on localhost.
ClusterName=hrun-dev
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
DependencyParameters=kill_invalid_depend
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MailProg=/bin/true
KillWait=5
MinJobAge=300
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=node[1-${#NODES[@]}] NodeHostname=localhost NodeAddr=127.0.0.1 Port=[$FIRST_PORT-$((FIRST_PORT + ${#NODES[@]} - 1))] CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

# A munged of the cluster's own, on a socket in DIR (slurm.conf's AuthInfo): stopping the
# cluster stops it, and a munged the machine runs (on the default socket) is left alone.
start_munge() {
    [ -f /etc/munge/munge.key ] || die "no /etc/munge/munge.key (is munge installed? run: $0 install)"
    local m=$DIR/munge
    install -d -o munge -g munge -m 0755 "$m"
    runuser -u munge -- /usr/sbin/munged --socket="$m/munge.socket" --pid-file="$m/munged.pid" \
        --log-file="$m/munged.log" --seed-file="$m/munged.seed" || die "munged did not start"
    wait_for 10 munged sh -c "munge -S '$m/munge.socket' -n | unmunge -S '$m/munge.socket'"
}

all_idle() {
    local states
    states=$(sinfo -h -N -o '%N %t' 2>/dev/null) || return 1
    [ "$(grep -c ' idle$' <<<"$states")" -eq "${#NODES[@]}" ]
}

cmd_start() {
    [ "$(id -u)" = 0 ] || die "must run as root (the daemons run as root here)"
    command -v slurmctld >/dev/null || die "slurmctld not installed (run: $0 install)"
    if [ -f "$DIR/slurmctld.pid" ] && alive "$(cat "$DIR/slurmctld.pid")"; then
        die "a cluster already runs from $DIR (stop it first)"
    fi
    # What a failed start got going is stopped again, munged included.
    trap '[ "$?" -eq 0 ] || cmd_stop >/dev/null 2>&1' EXIT
    # A controller still listening (a cluster being stopped, or someone else's) would answer
    # for ours: wait a little for the port to free, then give up.
    local port_free=0
    for _ in $(seq 100); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$CTLD_PORT") 2>/dev/null; then port_free=1; break; fi
        sleep 0.1
    done
    [ "$port_free" = 1 ] || die "port $CTLD_PORT is taken (another slurmctld?); stop it first"
    write_conf
    export SLURM_CONF=$DIR/slurm.conf
    start_munge
    slurmctld -c -f "$SLURM_CONF" || die "slurmctld did not start"
    wait_for 20 "slurmctld to answer" sh -c 'scontrol ping | grep -q UP'
    for n in "${NODES[@]}"; do
        slurmd -f "$SLURM_CONF" -N "$n" || die "slurmd $n did not start"
    done
    wait_for 30 "every node idle" all_idle
    if [ -n "${WATCH:-}" ]; then
        # Detached from the caller's process group and output, so it outlives neither badly.
        # shellcheck disable=SC2016 # expanded by the watching bash
        setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" stop "$3" && rm -rf "$3"' \
            watch "$WATCH" "$(readlink -f "$0")" "$DIR" </dev/null >/dev/null 2>&1 &
    fi
    echo "local-slurm: up: ${NODES[*]} with $(nproc --all) CPUs each; export SLURM_CONF=$SLURM_CONF"
}

stop_pid() { # stop_pid PIDFILE
    [ -f "$1" ] || return 0
    local pid
    pid=$(cat "$1")
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
        if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$1"
}

cmd_stop() {
    for n in "${NODES[@]}"; do stop_pid "$DIR/slurmd-$n.pid"; done
    stop_pid "$DIR/slurmctld.pid"
    stop_pid "$DIR/munge/munged.pid"
    echo "local-slurm: stopped (cluster in $DIR)"
}

cmd_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null ||
        { apt-get update -qq && apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
}

[ $# -ge 1 ] || usage
case "$1" in
install) cmd_install ;;
start | stop)
    [ $# -ge 2 ] || usage
    mkdir -p "$2"
    DIR=$(cd "$2" && pwd)
    WATCH=
    if [ "${3:-}" = --watch ]; then WATCH=${4:?--watch needs a PID}; fi
    "cmd_$1"
    ;;
*) usage ;;
esac
