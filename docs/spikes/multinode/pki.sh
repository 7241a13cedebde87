#!/usr/bin/env bash
# Issues the spike cluster's PKI with openssl on the controller (what cluster_pki does with community.crypto),
# into ./pki/: one CA, etcd CA, front-proxy CA and SA key pair for the cluster; per-host certificates
# (etcd server/peer, kubelet serving/client) carrying each host's own name and IP.
#   ./pki.sh <apiserver-ip> <cp-name=ip>... -- <node-name=ip>...
# Keys 0600. Re-running keeps existing files (only missing ones are issued: adding a host issues only its own).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); d=${PKI_DIR:-$here/pki}; mkdir -p "$d"; umask 077
api_ip=$1; shift
cps=(); nodes=(); t=cps
for a in "$@"; do if [ "$a" = -- ]; then t=nodes; continue; fi; eval "$t+=(\"\$a\")"; done

ca() { [ -f "$d/$1.crt" ] || { openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/$1.key" -out "$d/$1.crt" \
  -days 3650 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null; }; }
# leaf <name> <ca> <subject> <extendedKeyUsage> [subjectAltName]
leaf() {
  [ -f "$d/$1.crt" ] && return 0
  local ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$4"
  [ -z "${5:-}" ] || ext="$ext
subjectAltName=$5"
  openssl req -newkey rsa:2048 -nodes -keyout "$d/$1.key" -out "$d/$1.csr" -subj "$3" 2>/dev/null
  openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.crt" -CAkey "$d/$2.key" -CAcreateserial -days 365 \
    -out "$d/$1.crt" -extfile <(echo "$ext") 2>/dev/null
  rm -f "$d/$1.csr"
}
kubeconfig() {  # kubeconfig <file> <user> <cert> <server>
  [ -f "$d/$1" ] && return 0
  cat >"$d/$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cloudnative
  cluster: {server: "$4", certificate-authority-data: $(base64 -w0 <"$d/ca.crt")}
users:
- name: "$2"
  user: {client-certificate-data: $(base64 -w0 <"$d/$3.crt"), client-key-data: $(base64 -w0 <"$d/$3.key")}
contexts:
- name: default
  context: {cluster: cloudnative, user: "$2"}
current-context: default
EOF
}

ca ca kubernetes; ca etcd-ca etcd-ca; ca front-proxy-ca front-proxy-ca
[ -f "$d/sa.key" ] || { openssl genrsa -out "$d/sa.key" 2048 2>/dev/null; openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null; }
server="https://$api_ip:6443"
sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:10.96.0.1,IP:127.0.0.1,IP:$api_ip"
for c in "${cps[@]}"; do sans="$sans,DNS:${c%%=*},IP:${c#*=}"; done
leaf apiserver ca /CN=kube-apiserver serverAuth "$sans"
leaf apiserver-kubelet-client ca "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
leaf front-proxy-client front-proxy-ca /CN=front-proxy-client clientAuth
leaf apiserver-etcd-client etcd-ca /CN=kube-apiserver-etcd-client clientAuth
leaf admin ca "/O=system:masters/CN=kubernetes-admin" clientAuth
leaf controller-manager ca /CN=system:kube-controller-manager clientAuth
leaf scheduler ca /CN=system:kube-scheduler clientAuth
leaf kube-proxy ca /CN=system:kube-proxy clientAuth
leaf flannel ca /CN=flannel clientAuth      # flanneld's own identity (RBAC: ClusterRole flannel, see flannel-up.sh)
kubeconfig admin.conf kubernetes-admin admin "$server"
kubeconfig controller-manager.conf system:kube-controller-manager controller-manager "https://127.0.0.1:6443"
kubeconfig scheduler.conf system:kube-scheduler scheduler "https://127.0.0.1:6443"
kubeconfig kube-proxy.conf system:kube-proxy kube-proxy "$server"
kubeconfig flannel.conf flannel flannel "$server"
for c in "${cps[@]}"; do
  n=${c%%=*} ip=${c#*=}
  leaf "etcd-server-$n" etcd-ca "/CN=$n" serverAuth,clientAuth "DNS:localhost,DNS:$n,IP:127.0.0.1,IP:$ip"
  leaf "etcd-peer-$n" etcd-ca "/CN=$n" serverAuth,clientAuth "DNS:localhost,DNS:$n,IP:127.0.0.1,IP:$ip"
done
for c in "${nodes[@]}"; do
  n=${c%%=*} ip=${c#*=}
  leaf "kubelet-$n" ca "/O=system:nodes/CN=system:node:$n" serverAuth "DNS:$n,DNS:localhost,IP:127.0.0.1,IP:$ip"
  leaf "kubelet-client-$n" ca "/O=system:nodes/CN=system:node:$n" clientAuth
  kubeconfig "kubelet-$n.conf" "system:node:$n" "kubelet-client-$n" "$server"
done
ls "$d" | wc -l
