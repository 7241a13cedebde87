#!/usr/bin/env bash
# Removes what a node's pods can leave behind once the kubelet and every sandbox are gone:
# mounts under the given roots (deepest first), iptables chains named KUBE-* or CNI-* (with the rules that
# jump to them), veths enslaved to the CNI bridge and the bridge itself. Prints "removed <what>" per item.
set -uo pipefail
roots=() bridge=cni0
for arg in "$@"; do
  case "$arg" in
    --mount-root=*) roots+=("${arg#*=}") ;;
    --bridge=*) bridge="${arg#*=}" ;;
    *) echo "unknown argument $arg" >&2; exit 2 ;;
  esac
done

for root in "${roots[@]}"; do
  # Field 5 of mountinfo is the mount point; unmount the deepest first.
  awk -v root="$root" '$5 == root || index($5, root "/") == 1 {print $5}' /proc/self/mountinfo \
    | sort -r | while read -r mnt; do
      mnt=${mnt//\\040/ }
      if umount "$mnt" 2>/dev/null || umount -l "$mnt"; then echo "removed mount $mnt"; fi
    done
done

# Network namespace files the CRI bind-mounted for pods (now unmounted) stay as empty files.
for netns in /run/netns/cni-*; do
  [ -e "$netns" ] || continue
  rm -f "$netns" && echo "removed netns file $netns"
done

for cmd in iptables ip6tables; do
  command -v "$cmd" >/dev/null || continue
  for table in filter nat mangle raw; do
    chains=$("$cmd" -w -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI)-/ {print $2}')
    [ -n "$chains" ] || continue
    # shellcheck disable=SC2086 # one chain name per word, split on purpose
    pattern=$(printf '%s\n' $chains | paste -sd'|')
    # Delete every rule that jumps to one of the chains, wherever it lives.
    "$cmd" -w -t "$table" -S | grep -E -- "-j ($pattern)( |$)" | grep '^-A ' | while read -r rule; do
      eval "$cmd -w -t $table ${rule/-A/-D}" && echo "removed $cmd $table rule: $rule"
    done
    for chain in $chains; do "$cmd" -w -t "$table" -F "$chain"; done
    for chain in $chains; do
      "$cmd" -w -t "$table" -X "$chain" && echo "removed $cmd $table chain $chain"
    done
  done
done

if [ -e "/sys/class/net/$bridge" ]; then
  for port in /sys/class/net/"$bridge"/brif/*; do
    [ -e "$port" ] || continue
    ip link delete "$(basename "$port")" && echo "removed interface $(basename "$port")"
  done
  ip link delete "$bridge" && echo "removed interface $bridge"
fi
exit 0
