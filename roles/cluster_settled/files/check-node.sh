#!/usr/bin/env bash
# Prints one line per problem that keeps this node from counting as settled, then "identity <host name, default
# route's interface and its addresses>" (part of the fingerprint: a host that changed its name or address runs
# in full) and "marker <content>".
# Usage: check-node.sh MARKER PROGRAM_PREFIX SUPERVISORCTL CHECK_API KUBECTL KUBECONFIG ADDONS_NS PKI_DIR RENEW_SECONDS
set -uo pipefail
marker=$1 prefix=$2 supervisorctl=$3 check_api=$4 kubectl=$5 kubeconfig=$6 addons_ns=$7 pki_dir=$8 renew=$9

if ! programs=$("$supervisorctl" status 2>&1); then
  # supervisorctl exits non-zero when any program is not RUNNING; the lines below say which.
  [[ -n "$programs" ]] || echo "problem supervisord does not answer"
fi
awk -v p="$prefix" 'index($1, p) == 1 && $2 != "RUNNING" {print "problem program " $1 " is " $2}' <<<"$programs"
awk -v p="$prefix" 'index($1, p) == 1 {n++} END {if (!n) print "problem no supervised program runs"}' <<<"$programs"

if [[ "$check_api" == true ]]; then
  k() { "$kubectl" --kubeconfig "$kubeconfig" --request-timeout=5s "$@"; }
  k get --raw /readyz >/dev/null 2>&1 || echo "problem the API server is not ready"
  k get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.unschedulable} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null \
    | awk '$NF != "True" || $2 == "true" {print "problem node " $1 " is not Ready and schedulable"} {n++} END {if (!n) print "problem no node"}'
  k -n "$addons_ns" get deployments -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.generation} {.status.observedGeneration} {.spec.replicas} {.status.replicas} {.status.updatedReplicas} {.status.availableReplicas}{"\n"}{end}' 2>/dev/null \
    | awk '!($2 == $3 && $4 == $5 && $4 == $6 && $4 == $7) {print "problem deployment " $1 " has not rolled out"} {n++} END {if (!n) print "problem no addon deployment"}'
  k get --raw /apis/metrics.k8s.io/v1beta1/nodes >/dev/null 2>&1 || echo "problem the metrics API does not answer"
fi

if [[ -d "$pki_dir" ]]; then
  for crt in "$pki_dir"/*.crt; do
    [[ -e "$crt" ]] || continue
    openssl x509 -noout -checkend "$renew" -in "$crt" >/dev/null 2>&1 || echo "problem certificate $crt is due for renewal"
  done
fi
# The addresses of the default route's interface (what the roles take as the node's address), not every
# address: the cluster's own bridges appear once it runs.
dev=$(ip -o -4 route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}')
echo "identity $(hostname) ${dev:-none} $(ip -o -4 addr show dev "${dev:-lo}" 2>/dev/null | awk '{print $4}' | sort | tr '\n' ' ')"
echo "marker $(cat "$marker" 2>/dev/null)"
