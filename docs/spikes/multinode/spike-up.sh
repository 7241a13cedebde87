#!/usr/bin/env bash
# Whole spike bring-up from nothing, timed: node containers, binaries, pause tarball, PKI, cluster.
#   POD_NET=flannel BACKEND=host-gw|vxlan ./spike-up.sh   (POD_NET=hostgw-static: routes added once by hand)
# Uses images/pause.tar (make-image.py of the built pause) if present, else images/fake-pause-etcd.tar.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); cd "$here"
t0=$(date +%s)
./start-nodes.sh spike-cp1=172.28.0.11 spike-w1=172.28.0.21
./push-binaries.sh spike-cp1 spike-w1 >/dev/null
pause=images/pause.tar; [ -f "$pause" ] || pause=images/fake-pause-etcd.tar
for c in spike-cp1 spike-w1; do docker cp "$pause" "$c:/root/pause.tar"; docker cp images/nettest.tar "$c:/root/nettest.tar"; done
echo "nodes + binaries + pause copied: $(( $(date +%s)-t0 )) s"
./pki.sh 172.28.0.11 spike-cp1=172.28.0.11 -- spike-cp1=172.28.0.11 spike-w1=172.28.0.21 >/dev/null
./cluster-up.sh spike-cp1=172.28.0.11 spike-cp1=172.28.0.11 spike-w1=172.28.0.21
echo "cluster Ready: $(( $(date +%s)-t0 )) s"
# Test workload: the nettest image (etcd + etcdctl, no registry here) imported into each node, one pod per node.
for c in spike-cp1 spike-w1; do docker exec "$c" /opt/cloudnative/bin/ctr -n k8s.io images import /root/nettest.tar >/dev/null; done
./nssh 172.28.0.11 "/opt/cloudnative/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -" <manifests-nettest.yaml
./nssh 172.28.0.11 "/opt/cloudnative/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf rollout status ds/nettest --timeout=90s"
echo "spike-up total: $(( $(date +%s)-t0 )) s"
