#!/usr/bin/env bash
# Removes what a container runtime leaves behind once it is to go away. Each part is optional:
#   --ctr=PATH --address=SOCKET   kill and delete every task and container in every containerd namespace
#   --mount-root=DIR              unmount everything at or below DIR (deepest first); repeatable
#   --chain-prefix=PREFIX         delete iptables chains named PREFIX* and the rules that jump to them
#   --rule-match=TEXT             delete the iptables rules that name TEXT (e.g. an interface); repeatable
#   --interface=NAME              delete that network interface
# Prints "removed <what>" for each thing it removed, so the caller can tell whether anything changed.
set -uo pipefail
ctr="" address="" roots=() prefixes=() matches=() interfaces=()
for arg in "$@"; do
  case "$arg" in
    --ctr=*) ctr="${arg#*=}" ;;
    --address=*) address="${arg#*=}" ;;
    --mount-root=*) roots+=("${arg#*=}") ;;
    --chain-prefix=*) prefixes+=("${arg#*=}") ;;
    --rule-match=*) matches+=("${arg#*=}") ;;
    --interface=*) interfaces+=("${arg#*=}") ;;
    *) echo "unknown argument $arg" >&2; exit 2 ;;
  esac
done

if [ -n "$ctr" ] && [ -S "$address" ]; then
  for ns in $("$ctr" --address="$address" namespaces list --quiet 2>/dev/null); do
    for id in $("$ctr" --address="$address" --namespace="$ns" containers list --quiet 2>/dev/null); do
      "$ctr" --address="$address" --namespace="$ns" tasks kill --signal SIGKILL "$id" >/dev/null 2>&1
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        "$ctr" --address="$address" --namespace="$ns" tasks delete --force "$id" >/dev/null 2>&1 && break
        "$ctr" --address="$address" --namespace="$ns" tasks list --quiet 2>/dev/null | grep -qx "$id" || break
        sleep 0.5
      done
      if "$ctr" --address="$address" --namespace="$ns" containers delete "$id" >/dev/null 2>&1; then
        echo "removed container $ns/$id"
      fi
    done
  done
fi

for root in "${roots[@]}"; do
  awk -v root="$root" '$5 == root || index($5, root "/") == 1 {print $5}' /proc/self/mountinfo \
    | sort -r | while read -r mnt; do
      mnt=$(printf '%b' "$mnt")
      if umount "$mnt" 2>/dev/null || umount -l "$mnt"; then echo "removed mount $mnt"; fi
    done
done

for prefix in "${prefixes[@]}"; do
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for table in filter nat mangle raw; do
      chains=$("$cmd" -w -t "$table" -S 2>/dev/null | awk -v p="$prefix" '$1 == "-N" && index($2, p) == 1 {print $2}')
      [ -n "$chains" ] || continue
      # shellcheck disable=SC2086 # one chain name per word, split on purpose
      pattern=$(printf '%s\n' $chains | paste -sd'|')
      "$cmd" -w -t "$table" -S | grep -E -- "-j ($pattern)( |$)" | grep '^-A ' | while read -r rule; do
        eval "$cmd -w -t $table ${rule/-A/-D}" && echo "removed $cmd $table rule: $rule"
      done
      for chain in $chains; do "$cmd" -w -t "$table" -F "$chain"; done
      for chain in $chains; do
        "$cmd" -w -t "$table" -X "$chain" && echo "removed $cmd $table chain $chain"
      done
    done
  done
done

for text in "${matches[@]}"; do
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for table in filter nat mangle raw; do
      "$cmd" -w -t "$table" -S 2>/dev/null | grep '^-A ' | grep -F -- " $text " | while read -r rule; do
        eval "$cmd -w -t $table ${rule/-A/-D}" && echo "removed $cmd $table rule: $rule"
      done
    done
  done
done

for name in "${interfaces[@]}"; do
  if [ -e "/sys/class/net/$name" ]; then
    ip link delete "$name" && echo "removed interface $name"
  fi
done
exit 0
