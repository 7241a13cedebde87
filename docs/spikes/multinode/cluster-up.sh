#!/usr/bin/env bash
# Brings up the spike 2-node cluster by hand over SSH (what control_plane + kubelet would do as roles):
#   control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) on CP, kubelet + kube-proxy on
#   every node, each as a supervisor program. Run after start-nodes.sh, push-binaries.sh and pki.sh.
#   ./cluster-up.sh [cp-name=ip] [node-name=ip...]
# Pod network: node-runtime.sh's bridge conflist with the podCIDR the controller-manager allocated to each
# node (read back from the API), plus the cross-node routing chosen by POD_NET (hostgw-static | flannel (BACKEND=host-gw|vxlan,
# flannel-up.sh) | none).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cp=${1:-spike-cp1=172.28.0.11}; shift || true
nodes=("$@"); [ ${#nodes[@]} -gt 0 ] || nodes=(spike-cp1=172.28.0.11 spike-w1=172.28.0.21)
cpn=${cp%%=*} cpip=${cp#*=}
POD_CIDR=${POD_CIDR:-10.250.0.0/16}
SVC_CIDR=${SVC_CIDR:-10.96.0.0/12}
POD_NET=${POD_NET:-hostgw-static}
B=/opt/cloudnative/bin P=/etc/kubernetes/pki
on() { "$here/nssh" "$@"; }
put() { scp -q -i "$here/ssh/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "${@:2}" "root@$1:$P/"; }
kc() { "$B/kubectl" --kubeconfig /etc/kubernetes/admin.conf "$@"; }
# program <ip> <name> <command>: write a supervisor program file as roles/supervisor would and start it.
program() {
  on "$1" "mkdir -p /var/log/cloudnative && cat >/etc/supervisor/conf.d/cloudnative-$2.conf && supervisorctl update cloudnative-$2 >/dev/null" <<EOF
[program:cloudnative-$2]
command=$3
environment=PATH="$B:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
autorestart=true
startsecs=1
startretries=10
stopasgroup=true
killasgroup=true
stdout_logfile=/var/log/cloudnative/$2.log
redirect_stderr=true
EOF
}
t0=$(date +%s)

echo "== control plane on $cpn ($cpip)"
on "$cpip" "mkdir -p $P /etc/kubernetes /var/lib/etcd && chmod 0700 /var/lib/etcd"
( cd "$here/pki" && put "$cpip" ca.crt ca.key etcd-ca.crt front-proxy-ca.crt sa.key sa.pub apiserver.crt apiserver.key \
    apiserver-kubelet-client.* apiserver-etcd-client.* front-proxy-client.* "etcd-server-$cpn".* "etcd-peer-$cpn".* )
on "$cpip" "chmod 0600 $P/*.key; cd $P && for f in etcd-server etcd-peer; do mv \$f-$cpn.crt \$f.crt; mv \$f-$cpn.key \$f.key; done"
scp -q -i "$here/ssh/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
  "$here/pki/admin.conf" "$here/pki/controller-manager.conf" "$here/pki/scheduler.conf" "root@$cpip:/etc/kubernetes/"
on "$cpip" "chmod 0600 /etc/kubernetes/*.conf"
program "$cpip" etcd "$B/etcd --name=$cpn --data-dir=/var/lib/etcd \
 --listen-client-urls=https://127.0.0.1:2379,https://$cpip:2379 --advertise-client-urls=https://$cpip:2379 \
 --listen-peer-urls=https://$cpip:2380 --initial-advertise-peer-urls=https://$cpip:2380 \
 --initial-cluster=$cpn=https://$cpip:2380 --initial-cluster-state=new --listen-metrics-urls=http://127.0.0.1:2381 \
 --client-cert-auth=true --trusted-ca-file=$P/etcd-ca.crt --cert-file=$P/etcd-server.crt --key-file=$P/etcd-server.key \
 --peer-client-cert-auth=true --peer-trusted-ca-file=$P/etcd-ca.crt --peer-cert-file=$P/etcd-peer.crt --peer-key-file=$P/etcd-peer.key"
program "$cpip" kube-apiserver "$B/kube-apiserver --advertise-address=$cpip --bind-address=0.0.0.0 --secure-port=6443 \
 --allow-privileged=true --authorization-mode=Node,RBAC --client-ca-file=$P/ca.crt \
 --enable-admission-plugins=NodeRestriction,PodSecurity --etcd-servers=https://127.0.0.1:2379 --etcd-cafile=$P/etcd-ca.crt \
 --etcd-certfile=$P/apiserver-etcd-client.crt --etcd-keyfile=$P/apiserver-etcd-client.key \
 --kubelet-client-certificate=$P/apiserver-kubelet-client.crt --kubelet-client-key=$P/apiserver-kubelet-client.key \
 --kubelet-certificate-authority=$P/ca.crt --kubelet-preferred-address-types=InternalIP,Hostname \
 --proxy-client-cert-file=$P/front-proxy-client.crt --proxy-client-key-file=$P/front-proxy-client.key \
 --requestheader-client-ca-file=$P/front-proxy-ca.crt --requestheader-allowed-names=front-proxy-client \
 --requestheader-extra-headers-prefix=X-Remote-Extra- --requestheader-group-headers=X-Remote-Group \
 --requestheader-username-headers=X-Remote-User --enable-aggregator-routing=true \
 --service-account-issuer=https://kubernetes.default.svc.cluster.local --service-account-key-file=$P/sa.pub \
 --service-account-signing-key-file=$P/sa.key --service-cluster-ip-range=$SVC_CIDR \
 --tls-cert-file=$P/apiserver.crt --tls-private-key-file=$P/apiserver.key --profiling=false"
program "$cpip" kube-controller-manager "$B/kube-controller-manager --kubeconfig=/etc/kubernetes/controller-manager.conf \
 --authentication-kubeconfig=/etc/kubernetes/controller-manager.conf --authorization-kubeconfig=/etc/kubernetes/controller-manager.conf \
 --bind-address=127.0.0.1 --client-ca-file=$P/ca.crt --requestheader-client-ca-file=$P/front-proxy-ca.crt \
 --cluster-name=cloudnative --cluster-signing-cert-file=$P/ca.crt --cluster-signing-key-file=$P/ca.key --root-ca-file=$P/ca.crt \
 --service-account-private-key-file=$P/sa.key --use-service-account-credentials=true --allocate-node-cidrs=true \
 --cluster-cidr=$POD_CIDR --node-cidr-mask-size=24 --service-cluster-ip-range=$SVC_CIDR --leader-elect=false --profiling=false"
program "$cpip" kube-scheduler "$B/kube-scheduler --kubeconfig=/etc/kubernetes/scheduler.conf \
 --authentication-kubeconfig=/etc/kubernetes/scheduler.conf --authorization-kubeconfig=/etc/kubernetes/scheduler.conf \
 --bind-address=127.0.0.1 --leader-elect=false --profiling=false"
for _ in $(seq 1 90); do on "$cpip" "$B/kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /readyz >/dev/null 2>&1" && break; sleep 1; done
on "$cpip" "$B/kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /readyz"; echo " (apiserver ready at +$(( $(date +%s)-t0 )) s)"

echo "== node agents"
for spec in "${nodes[@]}"; do
  n=${spec%%=*} ip=${spec#*=}
  on "$ip" "mkdir -p $P /etc/kubernetes/config /var/lib/kubelet"
  # containerd first (no CNI conflist yet: the node's podCIDR is only known once it registered).
  on "$ip" "bash -s" <"$here/node-runtime.sh" >/dev/null
  ( cd "$here/pki" && put "$ip" ca.crt "kubelet-$n".crt "kubelet-$n".key )
  scp -q -i "$here/ssh/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    "$here/pki/kubelet-$n.conf" "root@$ip:/etc/kubernetes/kubelet.conf"
  scp -q -i "$here/ssh/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    "$here/pki/kube-proxy.conf" "root@$ip:/etc/kubernetes/kube-proxy.conf"
  on "$ip" "cd $P && mv kubelet-$n.crt kubelet.crt && mv kubelet-$n.key kubelet.key && chmod 0600 $P/*.key /etc/kubernetes/*.conf"
  # The roles' kubelet_config plus the container fixes: cgroupRoot (kind), resolvConf (pods cannot use 127.0.0.11,
  # the entrypoint already rewrote it to the gateway).
  on "$ip" "cat >/etc/kubernetes/config/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /kubelet
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
clusterDNS: [10.96.0.10]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: $P/ca.crt}}
authorization: {mode: Webhook}
tlsCertFile: $P/kubelet.crt
tlsPrivateKeyFile: $P/kubelet.key
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
failSwapOn: false
protectKernelDefaults: false
evictionHard: {memory.available: 100Mi, nodefs.available: "5%", nodefs.inodesFree: "2%", imagefs.available: "5%"}
maxPods: 110
staticPodPath: ""
EOF
  # kube-proxy: conntrack.maxPerCore 0 = do not touch nf_conntrack_max/hashsize (global, read-only in a netns).
  on "$ip" "cat >/etc/kubernetes/config/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: /etc/kubernetes/kube-proxy.conf}
mode: iptables
clusterCIDR: $POD_CIDR
nodePortAddresses: [primary]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0}
EOF
  program "$ip" kubelet "$B/kubelet --config=/etc/kubernetes/config/kubelet.yaml --kubeconfig=/etc/kubernetes/kubelet.conf \
 --hostname-override=$n --node-ip=$ip --v=1"
  program "$ip" kube-proxy "$B/kube-proxy --config=/etc/kubernetes/config/kube-proxy.yaml --hostname-override=$n --v=1"
done

echo "== pod CIDRs and per-node CNI"
cpx() { on "$cpip" "$B/kubectl --kubeconfig /etc/kubernetes/admin.conf $*"; }
for spec in "${nodes[@]}"; do
  n=${spec%%=*} ip=${spec#*=} cidr=""
  for _ in $(seq 1 90); do cidr=$(cpx get node "$n" -o jsonpath='{.spec.podCIDR}' 2>/dev/null || true); [ -n "$cidr" ] && break; sleep 1; done
  echo "$n $ip podCIDR=$cidr (+$(( $(date +%s)-t0 )) s)"
  [ -n "$cidr" ] || { echo "no podCIDR for $n" >&2; exit 1; }
  echo "$n $ip $cidr" >>"$here/logs/podcidrs.$$"
  ipmasq=true; [ "$POD_NET" = flannel ] && ipmasq=false
  on "$ip" "POD_SUBNET=$cidr POD_CIDR=$POD_CIDR IPMASQ=$ipmasq bash -s" <"$here/node-runtime.sh" >/dev/null
done
if [ "$POD_NET" = hostgw-static ]; then
  # Static host-gw: every node routes every other node's podCIDR via that node's IP (what flannel host-gw automates).
  while read -r n ip cidr; do
    while read -r n2 ip2 cidr2; do
      [ "$n" = "$n2" ] || on "$ip" "ip route replace $cidr2 via $ip2 dev eth0"
    done <"$here/logs/podcidrs.$$"
  done <"$here/logs/podcidrs.$$"
fi
rm -f "$here/logs/podcidrs.$$"
[ "$POD_NET" != flannel ] || "$here/flannel-up.sh" "${nodes[@]}"
for _ in $(seq 1 120); do
  nr=$(cpx get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l)
  [ "$nr" -ge ${#nodes[@]} ] && break; sleep 1
done
cpx get nodes -o wide
echo "cluster up in $(( $(date +%s)-t0 )) s"
