#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine (munge, slurmctld and slurmd on localhost),
# for running `dakit compare --plan` lines as a job array the way a cluster would. Debian only;
# needs root (or sudo). Safe to run again: a cluster already answering `sinfo` is left alone.
#
#   bash Scripts/slurm-local.sh          # install (slurm-wlm, munge) if missing, configure, start
#   bash Scripts/slurm-local.sh stop     # stop the daemons it started
set -euo pipefail
have() { command -v "$1" >/dev/null 2>&1; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  have sudo || { echo "slurm-local: run as root or install sudo" >&2; exit 2; }
  sudo="sudo"
fi
state=/var/tmp/dakit-slurm

if [ "${1:-}" = "stop" ]; then
  for pidfile in "$state"/slurmd.pid "$state"/slurmctld.pid "$state"/munged.pid; do
    [ -f "$pidfile" ] && $sudo kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  exit 0
fi

if ! have sbatch || ! have slurmctld || ! have slurmd || ! have munged; then
  have apt-get || { echo "slurm-local: install slurm-wlm and munge (Debian packages)" >&2; exit 2; }
  echo "slurm-local: installing slurm-wlm munge" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

if timeout 5 sinfo -h >/dev/null 2>&1; then
  echo "slurm-local: a cluster already answers sinfo" >&2
  exit 0
fi

$sudo mkdir -p "$state"/spool "$state"/ctld /run/munge /var/log/munge /var/lib/munge /etc/slurm
# munge: a key, then the daemon as the munge user.
if [ ! -s /etc/munge/munge.key ]; then
  $sudo mungekey --create --force 2>/dev/null || $sudo dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
$sudo chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
$sudo chmod 0700 /etc/munge /var/log/munge /var/lib/munge
$sudo chmod 0755 /run/munge
$sudo chmod 0400 /etc/munge/munge.key
if ! munge -n >/dev/null 2>&1; then
  $sudo runuser -u munge -- munged --pid-file=/run/munge/munged.pid 2>/dev/null || $sudo runuser -u munge -- munged
  $sudo cp /run/munge/munged.pid "$state"/munged.pid 2>/dev/null || true
fi
for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
munge -n | unmunge >/dev/null || { echo "slurm-local: munge does not work" >&2; exit 1; }

host=$(hostname -s)
cpus=$(nproc)
memory=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
$sudo tee /etc/slurm/slurm.conf >/dev/null <<CONF
# Written by DAKit's Scripts/slurm-local.sh: one node, this machine.
ClusterName=dakit-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
# No cgroup confinement (containers rarely allow it): the v1 plugin loads, nothing uses it.
printf "CgroupPlugin=cgroup/v1\nCgroupAutomount=no\nConstrainCores=no\nConstrainRAMSpace=no\n" | $sudo tee /etc/slurm/cgroup.conf >/dev/null

$sudo slurmctld || { echo "slurm-local: slurmctld did not start; see $state/slurmctld.log" >&2; tail -n 5 "$state"/slurmctld.log >&2; exit 1; }
$sudo slurmd || { echo "slurm-local: slurmd did not start; see $state/slurmd.log" >&2; tail -n 5 "$state"/slurmd.log >&2; exit 1; }
for _ in $(seq 100); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "slurm-local: node $host up ($cpus CPUs); logs in $state" >&2
    exit 0
  fi
  sleep 0.3
done
echo "slurm-local: the node did not come up; last log lines:" >&2
tail -n 20 "$state"/slurmctld.log "$state"/slurmd.log >&2 || true
exit 1
