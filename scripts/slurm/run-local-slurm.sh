#!/usr/bin/env bash
# Copied unchanged but for these two lines from ../shared/slurm-local/run-local-slurm.sh (the
# project's shared tooling, see its README.md there); edgesim's Slurm test uses it.
# A throw-away single-node Slurm cluster on this host, for tests of job-array submission.
#   run-local-slurm.sh start DIR   start slurmctld and slurmd with state under DIR; prints
#                                  "export SLURM_CONF=DIR/slurm.conf" to eval
#   run-local-slurm.sh stop DIR    stop the daemons started by 'start DIR' (by their PIDs)
# Needs Debian's slurm-wlm (slurmctld, slurmd, sbatch) and root. Authentication is
# auth/none: the cluster listens on loopback only and lives for one test.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
port_base=${SLURM_LOCAL_PORT:-16817}
case "$cmd" in
start)
  for b in slurmctld slurmd sbatch; do command -v "$b" >/dev/null || { echo "missing $b: apt-get install slurm-wlm" >&2; exit 2; }; done
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  host=$(hostname -s)
  cat >"$dir/slurm.conf" <<CONF
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port_base
SlurmdPort=$((port_base + 1))
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=30
KillWait=5
Waittime=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -c -i -f "$SLURM_CONF"    # -c: clean start, no saved state
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 1 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then echo "export SLURM_CONF=$SLURM_CONF"; exit 0; fi
    sleep 0.5
  done
  echo "slurm did not come up; logs in $dir/log" >&2; exit 1 ;;
stop)
  for p in slurmd slurmctld; do
    f="$dir/$p.pid"; [ -f "$f" ] || continue
    pid=$(cat "$f"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true; rm -f "$f"
  done ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
