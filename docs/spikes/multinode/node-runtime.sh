#!/usr/bin/env bash
# Runs INSIDE a node (piped over ssh: ./nssh <ip> "POD_SUBNET=... bash -s" < node-runtime.sh).
# Sets up what the container_runtime role does on the host, rendered by hand: sysctls, CNI bridge conflist,
# containerd config (as roles/container_runtime/templates/containerd-config.toml.j2 renders it here:
# cgroupfs, restrict_oom_score_adj because CAP_SYS_RESOURCE is missing, overlayfs on the volume), containerd
# as supervisor program cloudnative-containerd, and imports the pause image tarball.
# Env: BIN_DIR (containerd, shim, ctr; default /opt/cloudnative/bin), POD_SUBNET (this node's /24),
#      PAUSE_TAR (tarball in the node), PAUSE_REF (name inside the tarball), PAUSE_IMAGE (name CRI uses).
set -euo pipefail
BIN_DIR=${BIN_DIR:-/opt/cloudnative/bin}
POD_SUBNET=${POD_SUBNET:-}   # empty: no conflist yet (kubelet waits NetworkNotReady)
POD_CIDR=${POD_CIDR:-10.250.0.0/16}
# The bridge plugin's ipMasq SNATs every packet leaving the node's /24, pod->pod across nodes included (seen in
# conntrack: reply dst = node IP). Multi-node: IPMASQ=false and flanneld --ip-masq (which exempts the pod CIDR).
IPMASQ=${IPMASQ:-true}
PAUSE_TAR=${PAUSE_TAR:-/root/pause.tar}
PAUSE_REF=${PAUSE_REF:-cloudnative/pause:3.10.1}
PAUSE_IMAGE=${PAUSE_IMAGE:-docker.io/cloudnative/pause:3.10.1}

# Kernel settings of the role: all of these are per network namespace on this 6.18 kernel, so they can be set
# in the node container (nf_conntrack_max / hashsize cannot: kube-proxy must be told maxPerCore 0).
cat >/etc/sysctl.d/90-cloudnative.conf <<EOF
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
fs.inotify.max_user_instances = 8192
fs.inotify.max_user_watches = 524288
EOF
sysctl -q --load=/etc/sysctl.d/90-cloudnative.conf || echo "WARN: some sysctls failed"

mkdir -p /etc/cni/net.d /etc/containerd/certs.d /var/log/cloudnative
# Same conflist as the role, but with this node's own /24 (host-local): the podCIDR the API allocated it.
[ -z "$POD_SUBNET" ] || cat >/etc/cni/net.d/10-cloudnative.conflist <<EOF
{
  "cniVersion": "1.0.0",
  "name": "cloudnative",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": $IPMASQ, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_SUBNET"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall", "backend": "iptables"}
  ]
}
EOF

cat >/etc/containerd/config.toml <<EOF
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
oom_score = 0
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
EOF

# Supervisor program as roles/supervisor/templates/program.conf.j2 would write it (the essentials).
cat >/etc/supervisor/conf.d/cloudnative-containerd.conf <<EOF
[program:cloudnative-containerd]
command=$BIN_DIR/containerd --config /etc/containerd/config.toml
environment=PATH="$BIN_DIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
priority=100
autorestart=true
startsecs=1
stopasgroup=false
killasgroup=false
stdout_logfile=/var/log/cloudnative/containerd.log
redirect_stderr=true
EOF
supervisorctl update cloudnative-containerd >/dev/null
for _ in $(seq 1 30); do "$BIN_DIR/ctr" version >/dev/null 2>&1 && break; sleep 1; done
"$BIN_DIR/ctr" version | grep Version || true
if [ -f "$PAUSE_TAR" ] && [ -z "$("$BIN_DIR/ctr" -n k8s.io images ls -q name=="$PAUSE_IMAGE")" ]; then
  "$BIN_DIR/ctr" -n k8s.io images import "$PAUSE_TAR"
  "$BIN_DIR/ctr" -n k8s.io images tag --force "$PAUSE_REF" "$PAUSE_IMAGE" 2>/dev/null || true
fi
"$BIN_DIR/ctr" -n k8s.io images ls -q
