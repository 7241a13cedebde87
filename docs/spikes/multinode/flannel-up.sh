#!/usr/bin/env bash
# Runs flanneld (built from the Go module proxy: github.com/flannel-io/flannel v0.28.10, ./build-flannel.sh) as a
# supervisor program on every node, with --kube-subnet-mgr: each node's subnet is the podCIDR the
# controller-manager allocated, so the per-node bridge conflist written by cluster-up.sh stays valid and no flannel
# CNI plugin is needed (github.com/flannel-io/cni-plugin is NOT served by the module proxy here: 403).
#   BACKEND=host-gw|vxlan ./flannel-up.sh [node-name=ip...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BACKEND=${BACKEND:-host-gw}
POD_CIDR=${POD_CIDR:-10.250.0.0/16}
cpip=${CPIP:-172.28.0.11}
nodes=("$@"); [ ${#nodes[@]} -gt 0 ] || nodes=(spike-cp1=172.28.0.11 spike-w1=172.28.0.21)
B=/opt/cloudnative/bin
on() { "$here/nssh" "$@"; }
cp_() { scp -q -i "$here/ssh/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "$@"; }
t0=$(date +%s)
# RBAC of upstream's kube-flannel.yml, bound to the certificate user "flannel" instead of a ServiceAccount.
on "$cpip" "$B/kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -" <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: flannel}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get]}
- {apiGroups: [""], resources: [nodes], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [nodes/status], verbs: [patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: flannel}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: flannel}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: flannel}]
EOF
for spec in "${nodes[@]}"; do
  n=${spec%%=*} ip=${spec#*=}
  cp_ "$here/bin/flanneld" "root@$ip:$B/flanneld"
  cp_ "$here/pki/flannel.conf" "root@$ip:/etc/kubernetes/flannel.conf"
  on "$ip" "chmod 0600 /etc/kubernetes/flannel.conf; mkdir -p /etc/kube-flannel /run/flannel
    echo '{\"Network\": \"$POD_CIDR\", \"EnableNFTables\": false, \"Backend\": {\"Type\": \"$BACKEND\"}}' >/etc/kube-flannel/net-conf.json
    # routes of the static host-gw variant, if any, are replaced by flannel's own
    for r in \$(ip route show proto boot | awk '/^10\\.250\\./ {print \$1}'); do ip route del \$r; done
    cat >/etc/supervisor/conf.d/cloudnative-flanneld.conf <<EOF
[program:cloudnative-flanneld]
command=$B/flanneld --kube-subnet-mgr --kubeconfig-file=/etc/kubernetes/flannel.conf --iface=eth0 --ip-masq --healthz-ip=127.0.0.1 --healthz-port=10267
environment=NODE_NAME=\"$n\",PATH=\"$B:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"
priority=300
autorestart=true
startsecs=1
stopasgroup=true
killasgroup=true
stdout_logfile=/var/log/cloudnative/flanneld.log
redirect_stderr=true
EOF
    supervisorctl update cloudnative-flanneld >/dev/null"
done
for spec in "${nodes[@]}"; do
  ip=${spec#*=}
  for _ in $(seq 1 60); do on "$ip" "test -s /run/flannel/subnet.env" && break; sleep 1; done
  echo "${spec%%=*}: $(on "$ip" "tr '\n' ' ' </run/flannel/subnet.env; ip -d -o link show flannel.1 2>/dev/null | grep -o 'vxlan id [0-9]* .*dstport [0-9]*' ; ip route | grep '^10\\.250' | grep -v cni0")"
done
echo "flannel ($BACKEND) up in $(( $(date +%s)-t0 )) s"
