#!/usr/bin/env bash
# Remove the iptables chains and ipsets that kube-router's firewall controller made (kube-router's own
# --cleanup-config also cleans its IPVS proxy and panics on a kernel without IPVS). Prints "removed" when there
# was anything to remove; run after kube-router has stopped.
set -euo pipefail
ours='(KUBE-ROUTER-|KUBE-POD-FW-|KUBE-NWPLCY-)'
rules=$(iptables-save -t filter | grep -cE -- "$ours" || true)
sets=$(ipset list -n | grep -E '^(KUBE-SRC-|KUBE-DST-|KUBE-NSP-|kube-router-)' || true)
if [ "$rules" -eq 0 ] && [ -z "$sets" ]; then
  exit 0
fi
if [ "$rules" -gt 0 ]; then
  # One atomic rewrite of the filter table without kube-router's chains and the jumps to them.
  iptables-save -t filter | grep -vE -- "$ours" | iptables-restore --wait
fi
for set in $sets; do
  ipset destroy "$set"
done
echo removed
