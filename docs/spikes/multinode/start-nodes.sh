#!/usr/bin/env bash
# Starts the spike node containers on a user-defined bridge with fixed IPs, reachable over SSH with ./ssh/id_ed25519.
#   ./start-nodes.sh [name=ip ...]      default: spike-cp1=172.28.0.11 spike-cp2=172.28.0.12 spike-w1=172.28.0.21
# Idempotent: an existing container is left alone. ./stop-nodes.sh removes everything this creates.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
net=spike-net subnet=172.28.0.0/24 image=spike/node:bookworm
nodes=("$@"); [ ${#nodes[@]} -gt 0 ] || nodes=(spike-cp1=172.28.0.11 spike-cp2=172.28.0.12 spike-w1=172.28.0.21)

mkdir -p "$here/ssh"
[ -f "$here/ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C spike-multinode -f "$here/ssh/id_ed25519"
docker network inspect $net >/dev/null 2>&1 || docker network create --driver bridge --subnet $subnet $net >/dev/null

# The flags measured to work here (no --privileged: it fails with "unable to apply caps" since this VM's
# bounding set lacks CAP_SYS_RESOURCE):
run_flags=(
  --cap-add ALL --cap-drop SYS_RESOURCE          # everything --privileged would give, minus what we lack
  --security-opt seccomp=unconfined               # runc/containerd/kubelet syscalls (mount, unshare, keyctl ...)
  --security-opt apparmor=unconfined
  --security-opt systempaths=unconfined           # /proc/sys writable, /proc/kcore etc. not masked
  --device-cgroup-rule 'a *:* rwm'                # nested runc creates device nodes / pods use /dev/*
  --cgroupns=private                              # the node sees its own cgroup as / (kind requires it on v1)
  --device /dev/kmsg                              # kubelet's OOM watcher reads the kernel log
  --tmpfs /run:rw,exec,nosuid,nodev,mode=0755     # fresh /run on every start (sockets, runc state), like kind
  --tmpfs /tmp:rw,exec,nosuid,nodev,mode=1777
  --stop-timeout 30
)
for spec in "${nodes[@]}"; do
  name=${spec%%=*} ip=${spec#*=}
  if docker container inspect "$name" >/dev/null 2>&1; then echo "$name exists"; continue; fi
  t0=$(date +%s.%N)
  # containerd's root must not be on the container's overlayfs (overlay on overlay): a named volume (ext4 here).
  # /var/lib/kubelet stays in the rootfs (made rshared by the entrypoint).
  docker run -d --name "$name" --hostname "$name" --network $net --ip "$ip" "${run_flags[@]}" \
    -v "$name-containerd:/var/lib/containerd" \
    -v "$here/ssh/id_ed25519.pub:/etc/spike/authorized_keys:ro" \
    --label spike-multinode=1 "$image" >/dev/null
  # Ready = sshd answers a command.
  for _ in $(seq 1 60); do
    if ssh -q -i "$here/ssh/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
         -o ConnectTimeout=2 -o BatchMode=yes "root@$ip" true 2>/dev/null; then break; fi
    sleep 0.5
  done
  printf '%s %s up, ssh answers after %.1f s\n' "$name" "$ip" "$(echo "$(date +%s.%N) - $t0" | bc)"
done
