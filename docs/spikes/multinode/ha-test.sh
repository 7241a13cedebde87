#!/usr/bin/env bash
# HA probe (beyond the brief's step 5): 3 control-plane containers with a stacked 3-member etcd (peer TLS),
# kube-apiserver / controller-manager / scheduler (leader-elected) on each, one worker whose kubelet reaches the
# apiservers through a local haproxy on 127.0.0.1:6443 (kubespray's approach). Then SIGKILLs one control-plane
# container and checks: etcd quorum, API writes through the worker's LB, node still Ready; starts it again and
# measures the rejoin. No pod network or pods here (flannel is not needed).
#   ./ha-test.sh            (creates spike-cp1..3 + spike-w1 on spike-net; ./stop-nodes.sh removes them)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); cd "$here"
cps=(spike-cp1=172.28.0.11 spike-cp2=172.28.0.12 spike-cp3=172.28.0.13) w=spike-w1 wip=172.28.0.21
B=/opt/cloudnative/bin P=/etc/kubernetes/pki D="$here/pki-ha"
on() { "$here/nssh" "$@"; }
cp_() { scp -q -i "$here/ssh/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "$@"; }
program() {  # program <ip> <name> <command>
  on "$1" "mkdir -p /var/log/cloudnative && cat >/etc/supervisor/conf.d/cloudnative-$2.conf && supervisorctl update cloudnative-$2 >/dev/null" <<EOF
[program:cloudnative-$2]
command=$3
environment=PATH="$B:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
autorestart=true
startsecs=1
startretries=100
stopasgroup=true
killasgroup=true
stdout_logfile=/var/log/cloudnative/$2.log
redirect_stderr=true
EOF
}
t0=$(date +%s)
./start-nodes.sh "${cps[@]}" "$w=$wip"
./push-binaries.sh spike-cp1 spike-cp2 spike-cp3 "$w" >/dev/null
# Every component reaches "its" apiserver at 127.0.0.1:6443: the local one on control-plane hosts, haproxy on workers.
PKI_DIR="$D" ./pki.sh 127.0.0.1 "${cps[@]}" -- "$w=$wip" >/dev/null
initial=$(for c in "${cps[@]}"; do printf '%s=https://%s:2380,' "${c%%=*}" "${c#*=}"; done); initial=${initial%,}
etcds=$(for c in "${cps[@]}"; do printf 'https://%s:2379,' "${c#*=}"; done); etcds=${etcds%,}
for c in "${cps[@]}"; do
  n=${c%%=*} ip=${c#*=}
  on "$ip" "mkdir -p $P /var/lib/etcd && chmod 0700 /var/lib/etcd"
  ( cd "$D" && cp_ ca.crt ca.key etcd-ca.crt front-proxy-ca.crt sa.key sa.pub apiserver.crt apiserver.key apiserver-kubelet-client.* \
      apiserver-etcd-client.* front-proxy-client.* "etcd-server-$n".* "etcd-peer-$n".* "root@$ip:$P/" )
  cp_ "$D/admin.conf" "$D/controller-manager.conf" "$D/scheduler.conf" "root@$ip:/etc/kubernetes/"
  on "$ip" "chmod 0600 $P/*.key /etc/kubernetes/*.conf; cd $P && for f in etcd-server etcd-peer; do mv \$f-$n.crt \$f.crt; mv \$f-$n.key \$f.key; done"
  program "$ip" etcd "$B/etcd --name=$n --data-dir=/var/lib/etcd --listen-client-urls=https://127.0.0.1:2379,https://$ip:2379 \
 --advertise-client-urls=https://$ip:2379 --listen-peer-urls=https://$ip:2380 --initial-advertise-peer-urls=https://$ip:2380 \
 --initial-cluster=$initial --initial-cluster-state=new --initial-cluster-token=spike --listen-metrics-urls=http://127.0.0.1:2381 \
 --client-cert-auth=true --trusted-ca-file=$P/etcd-ca.crt --cert-file=$P/etcd-server.crt --key-file=$P/etcd-server.key \
 --peer-client-cert-auth=true --peer-trusted-ca-file=$P/etcd-ca.crt --peer-cert-file=$P/etcd-peer.crt --peer-key-file=$P/etcd-peer.key"
done
for c in "${cps[@]}"; do
  ip=${c#*=}
  program "$ip" kube-apiserver "$B/kube-apiserver --advertise-address=$ip --bind-address=0.0.0.0 --secure-port=6443 \
 --authorization-mode=Node,RBAC --client-ca-file=$P/ca.crt --enable-admission-plugins=NodeRestriction --etcd-servers=$etcds \
 --etcd-cafile=$P/etcd-ca.crt --etcd-certfile=$P/apiserver-etcd-client.crt --etcd-keyfile=$P/apiserver-etcd-client.key \
 --kubelet-client-certificate=$P/apiserver-kubelet-client.crt --kubelet-client-key=$P/apiserver-kubelet-client.key \
 --service-account-issuer=https://kubernetes.default.svc.cluster.local --service-account-key-file=$P/sa.pub \
 --service-account-signing-key-file=$P/sa.key --service-cluster-ip-range=10.96.0.0/12 --tls-cert-file=$P/apiserver.crt \
 --tls-private-key-file=$P/apiserver.key --profiling=false"
  program "$ip" kube-controller-manager "$B/kube-controller-manager --kubeconfig=/etc/kubernetes/controller-manager.conf \
 --authentication-kubeconfig=/etc/kubernetes/controller-manager.conf --authorization-kubeconfig=/etc/kubernetes/controller-manager.conf \
 --bind-address=127.0.0.1 --cluster-signing-cert-file=$P/ca.crt --cluster-signing-key-file=$P/ca.key --root-ca-file=$P/ca.crt \
 --service-account-private-key-file=$P/sa.key --use-service-account-credentials=true --allocate-node-cidrs=true \
 --cluster-cidr=10.250.0.0/16 --service-cluster-ip-range=10.96.0.0/12 --leader-elect=true"
  program "$ip" kube-scheduler "$B/kube-scheduler --kubeconfig=/etc/kubernetes/scheduler.conf --bind-address=127.0.0.1 --leader-elect=true"
done
EC="$B/etcdctl --cacert=$P/etcd-ca.crt --cert=$P/apiserver-etcd-client.crt --key=$P/apiserver-etcd-client.key --endpoints=$etcds"
for _ in $(seq 1 60); do on 172.28.0.11 "$EC endpoint health >/dev/null 2>&1" && break; sleep 1; done
on 172.28.0.11 "$EC endpoint health 2>&1 | sort"; echo "etcd 3/3 healthy at +$(( $(date +%s)-t0 )) s"

echo "== worker $w: haproxy on 127.0.0.1:6443 in front of the 3 apiservers, kubelet through it"
on "$wip" "printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d  # packages must not start daemons
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy >/tmp/apt-haproxy.log 2>&1 || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy >/tmp/apt-haproxy.log 2>&1; }
  mkdir -p /etc/kubernetes/config $P /var/lib/kubelet"
{
  echo "global"; echo "  maxconn 2000"
  echo "defaults"; echo "  mode tcp"; echo "  timeout connect 1s"; echo "  retries 3"; echo "  option redispatch"; echo "  timeout client 10m"; echo "  timeout server 10m"
  echo "frontend apiserver"; echo "  bind 127.0.0.1:6443"; echo "  default_backend apiservers"
  echo "backend apiservers"; echo "  option httpchk GET /readyz"; echo "  http-check expect status 200"
  echo "  default-server check check-ssl verify none inter 1s fall 2 rise 2"
  for c in "${cps[@]}"; do echo "  server ${c%%=*} ${c#*=}:6443"; done
} | on "$wip" "cat >/etc/haproxy/spike-apiserver.cfg"
program "$wip" apiserver-lb "/usr/sbin/haproxy -W -db -f /etc/haproxy/spike-apiserver.cfg"
( cd "$D" && cp_ ca.crt "kubelet-$w.crt" "kubelet-$w.key" "root@$wip:$P/" )
cp_ "$D/kubelet-$w.conf" "root@$wip:/etc/kubernetes/kubelet.conf"; cp_ "$D/admin.conf" "root@$wip:/etc/kubernetes/admin.conf"
on "$wip" "cd $P && mv kubelet-$w.crt kubelet.crt && mv kubelet-$w.key kubelet.key && chmod 0600 $P/*.key /etc/kubernetes/*.conf"
on "$wip" "bash -s" <node-runtime.sh >/dev/null
on "$wip" "cat >/etc/kubernetes/config/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /kubelet
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: $P/ca.crt}}
authorization: {mode: Webhook}
tlsCertFile: $P/kubelet.crt
tlsPrivateKeyFile: $P/kubelet.key
readOnlyPort: 0
failSwapOn: false
nodeStatusUpdateFrequency: 4s
EOF
program "$wip" kubelet "$B/kubelet --config=/etc/kubernetes/config/kubelet.yaml --kubeconfig=/etc/kubernetes/kubelet.conf --hostname-override=$w --node-ip=$wip"
K="$B/kubectl --kubeconfig /etc/kubernetes/admin.conf"   # on the worker: through haproxy
cidr=""; for _ in $(seq 1 60); do cidr=$(on "$wip" "$K get node $w -o jsonpath={.spec.podCIDR}" 2>/dev/null || true); [ -n "$cidr" ] && break; sleep 1; done
on "$wip" "POD_SUBNET=$cidr IPMASQ=false bash -s" <node-runtime.sh >/dev/null   # the bridge conflist: node Ready
for _ in $(seq 1 90); do on "$wip" "$K get node $w 2>/dev/null | grep -qw Ready" && break; sleep 1; done
on "$wip" "$K get nodes"; echo "HA control plane + worker up at +$(( $(date +%s)-t0 )) s"
on "$wip" "$K get leases -n kube-system -o custom-columns=NAME:.metadata.name,HOLDER:.spec.holderIdentity | grep -E 'controller|scheduler'"

victim=spike-cp1; vip=172.28.0.11
echo "== SIGKILL $victim (etcd member, apiserver, leader-elected controllers die with it)"
tk=$(date +%s.%N); docker kill -s KILL $victim >/dev/null
fails=0 ok=0
for i in $(seq 1 30); do   # 30 API writes through the worker's haproxy, 1 per second, bounded
  if on "$wip" "timeout 5 $K create configmap ha-probe-$i --from-literal=i=$i >/dev/null 2>&1 && timeout 5 $K delete configmap ha-probe-$i >/dev/null 2>&1"; then ok=$((ok+1)); else fails=$((fails+1)); echo "  write $i failed at +$(echo "$(date +%s.%N) - $tk" | bc) s"; fi
  sleep 1
done
echo "API writes through the LB while $victim is dead: $ok ok, $fails failed"
on 172.28.0.12 "$EC endpoint health 2>&1 | sort"
on "$wip" "$K get nodes --no-headers; $K get leases -n kube-system -o custom-columns=NAME:.metadata.name,HOLDER:.spec.holderIdentity | grep -E 'controller|scheduler'"
echo "== start $victim again"
ts=$(date +%s.%N); docker start $victim >/dev/null
for _ in $(seq 1 90); do
  on 172.28.0.12 "$B/etcdctl --cacert=$P/etcd-ca.crt --cert=$P/apiserver-etcd-client.crt --key=$P/apiserver-etcd-client.key --endpoints=https://$vip:2379 endpoint health >/dev/null 2>&1" \
    && on "$wip" "$K get --raw /readyz >/dev/null 2>&1" && on "$vip" "$B/kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /readyz >/dev/null 2>&1" && break
  sleep 1
done
echo "$victim etcd member healthy and its apiserver ready $(echo "$(date +%s.%N) - $ts" | bc) s after docker start"
on 172.28.0.12 "$EC endpoint status -w table 2>&1"
docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' | grep spike-
