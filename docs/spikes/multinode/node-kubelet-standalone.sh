#!/usr/bin/env bash
# Runs INSIDE a node (./nssh <ip> 'bash -s' < node-kubelet-standalone.sh) after node-runtime.sh:
# kubelet with no API server (standalone) as supervisor program cloudnative-kubelet, running one static pod.
# Env: BIN_DIR (kubelet; default /opt/cloudnative/bin), POD_IMAGE (image already in containerd, default the
#      pause image), POD_CMD (JSON list for the static pod's command, default sleep-like pause).
set -euo pipefail
BIN_DIR=${BIN_DIR:-/opt/cloudnative/bin}
POD_IMAGE=${POD_IMAGE:-docker.io/cloudnative/pause:3.10.1}
POD_CMD=${POD_CMD:-}
mkdir -p /etc/kubernetes/config /etc/kubernetes/manifests /var/lib/kubelet
cat >/etc/kubernetes/config/kubelet.yaml <<'EOF'
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false             # cgroup v1 host: 1.35 refuses v1 unless told
cgroupDriver: cgroupfs          # no systemd
cgroupRoot: /kubelet            # kind: pods under /kubelet/kubepods, created by the entrypoint in every controller
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
staticPodPath: /etc/kubernetes/manifests
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
failSwapOn: false
protectKernelDefaults: false
evictionHard: {memory.available: 100Mi, nodefs.available: "5%", nodefs.inodesFree: "2%", imagefs.available: "5%"}
EOF
{
  echo "apiVersion: v1"
  echo "kind: Pod"
  echo "metadata: {name: static-test, namespace: default}"
  echo "spec:"
  echo "  containers:"
  echo "  - name: main"
  echo "    image: $POD_IMAGE"
  echo "    imagePullPolicy: Never"
  [ -z "$POD_CMD" ] || echo "    command: $POD_CMD"
} >/etc/kubernetes/manifests/static-test.yaml
cat >/etc/supervisor/conf.d/cloudnative-kubelet.conf <<EOF
[program:cloudnative-kubelet]
command=$BIN_DIR/kubelet --config=/etc/kubernetes/config/kubelet.yaml --hostname-override=$(hostname) --v=1
environment=PATH="$BIN_DIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
priority=400
autorestart=true
startsecs=1
stopasgroup=true
killasgroup=true
stdout_logfile=/var/log/cloudnative/kubelet.log
redirect_stderr=true
EOF
supervisorctl update cloudnative-kubelet
