#!/usr/bin/env bash
# Checks which cross-node pod network styles work between two spike node containers (default cp1 and w1):
#   1. vxlan: a vxlan device (VNI 42, UDP 8472 like flannel) on each, static FDB entries, ping the overlay IPs;
#   2. host-gw: a "pod" netns with a veth on each node (10.250.<n>.2/24), routes for the other node's pod
#      subnet via its container IP; ping pod -> pod across nodes.
# Cleans up what it creates. Every ping is bounded (-c 3 -W 2).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
A=${1:-172.28.0.11} B=${2:-172.28.0.21}
on() { "$here/nssh" "$@"; }
rc=0

echo "== vxlan (id 42, dstport 8472, dev eth0)"
on "$A" "ip link add vx0 type vxlan id 42 dstport 8472 dev eth0 local $A && ip addr add 10.99.0.1/24 dev vx0 && ip link set vx0 up && bridge fdb append 00:00:00:00:00:00 dev vx0 dst $B" || rc=1
on "$B" "ip link add vx0 type vxlan id 42 dstport 8472 dev eth0 local $B && ip addr add 10.99.0.2/24 dev vx0 && ip link set vx0 up && bridge fdb append 00:00:00:00:00:00 dev vx0 dst $A" || rc=1
on "$A" "ip -d link show vx0 | grep -o 'vxlan id 42.*dstport 8472'; ping -c 3 -W 2 10.99.0.2 | tail -2" || { echo "vxlan ping FAILED"; rc=1; }
on "$A" "ip link del vx0"; on "$B" "ip link del vx0"

echo "== host-gw (pod netns + veth, routes via the other node's IP)"
mkpod() {  # mkpod <node ip> <n> <other node ip> <other n>
  on "$1" "set -e; sysctl -qw net.ipv4.ip_forward=1; ip netns add podtest; ip link add vethpt type veth peer name eth0 netns podtest
    ip addr add 10.250.$2.1/24 dev vethpt; ip link set vethpt up
    ip -n podtest addr add 10.250.$2.2/24 dev eth0; ip -n podtest link set eth0 up; ip -n podtest link set lo up
    ip -n podtest route add default via 10.250.$2.1
    ip route add 10.250.$4.0/24 via $3 dev eth0"
}
mkpod "$A" 1 "$B" 2 || rc=1
mkpod "$B" 2 "$A" 1 || rc=1
on "$A" "ping -c 3 -W 2 10.250.2.2 | tail -2" || { echo "node A -> pod on B FAILED"; rc=1; }
on "$A" "ip netns exec podtest ping -c 3 -W 2 10.250.2.2 | tail -2" || { echo "pod A -> pod B FAILED"; rc=1; }
for n in "$A:2" "$B:1"; do on "${n%%:*}" "ip netns del podtest; ip link del vethpt 2>/dev/null; ip route del 10.250.${n##*:}.0/24"; done
echo "netcheck rc=$rc"; exit $rc
