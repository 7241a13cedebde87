#!/usr/bin/env bash
# Cross-node pod checks on the spike cluster (after manifests-nettest.yaml is applied):
#   ICMP pod->pod across nodes (node's ping run inside the pod's netns), TCP pod->pod across nodes and
#   pod->ClusterIP Service (etcdctl inside the pod via kubectl exec, which also proves apiserver->kubelet exec).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); cp=${CP:-172.28.0.11}
K="/opt/cloudnative/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf"
k() { "$here/nssh" "$cp" "$K $(printf "%q " "$@")"; }
rc=0
mapfile -t pods < <(k get pods -l app=nettest -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.hostIP} {.status.podIP}{"\n"}{end}')
svc=$(k get svc nettest -o jsonpath='{.spec.clusterIP}')
for a in "${pods[@]}"; do
  read -r pa na ha ia <<<"$a"
  for b in "${pods[@]}"; do
    read -r pb nb hb ib <<<"$b"; [ "$na" = "$nb" ] && continue
    # The pod's netns on its node: the one holding its IP.
    out=$("$here/nssh" "$ha" "for n in \$(ip netns list | cut -d' ' -f1); do ip -n \$n -4 -o addr | grep -q ' $ia/' && exec ip netns exec \$n ping -c 3 -W 2 $ib; done" | tail -2 | head -1)
    echo "ping $na pod $ia -> $nb pod $ib: $out"; [[ "$out" == *" 0% packet loss"* ]] || rc=1
    out=$(k exec "$pa" -- /etcdctl --endpoints "http://$ib:12379" --dial-timeout 3s endpoint health 2>&1 | tail -1)
    echo "tcp  $na pod -> $nb pod $ib:12379: $out"; [[ "$out" == *"is healthy"* ]] || rc=1
  done
  out=$(k exec "$pa" -- /etcdctl --endpoints "http://$svc:2379" --dial-timeout 3s endpoint health 2>&1 | tail -1)
  echo "tcp  $na pod -> Service $svc:2379: $out"; [[ "$out" == *"is healthy"* ]] || rc=1
done
[ ${#pods[@]} -ge 2 ] || { echo "fewer than 2 pods"; rc=1; }
echo "podcheck rc=$rc"; exit $rc
