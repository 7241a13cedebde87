"""A checker for the Kubernetes Pod Security Standards, "baseline" and "restricted" levels, on a pod spec.

It follows https://kubernetes.io/docs/concepts/security/pod-security-standards/ (latest): every rule of
the restricted profile (which includes baseline) that can be read off a pod spec. `violations` returns one
message per broken rule, so an empty list means the spec passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
RESTRICTED_CAPABILITIES = {"NET_BIND_SERVICE"}
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
    "secret",
}  # fmt: skip
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def _containers(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(field) or []:
            yield f"{field}[{c.get('name', '?')}]", c


def baseline_violations(spec: dict[str, Any]) -> list[str]:
    out: list[str] = []
    psc = spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            out.append(f"{field} is true")
    if (psc.get("windowsOptions") or {}).get("hostProcess"):
        out.append("pod windowsOptions.hostProcess is true")
    for v in spec.get("volumes") or []:
        if "hostPath" in v:
            out.append(f"volume {v.get('name')} is a hostPath")
    for key, value in (psc.get("seLinuxOptions") or {}).items():
        if (key == "type" and value not in SELINUX_TYPES) or (key in ("user", "role") and value):
            out.append(f"pod seLinuxOptions.{key} is {value!r}")
    if (psc.get("seccompProfile") or {}).get("type") == "Unconfined":
        out.append("pod seccompProfile is Unconfined")
    if (psc.get("appArmorProfile") or {}).get("type") == "Unconfined":
        out.append("pod appArmorProfile is Unconfined")
    for s in psc.get("sysctls") or []:
        if s.get("name") not in SAFE_SYSCTLS:
            out.append(f"sysctl {s.get('name')} is not a safe sysctl")
    for where, c in _containers(spec):
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            out.append(f"{where} is privileged")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            out.append(f"{where} windowsOptions.hostProcess is true")
        extra = set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if extra:
            out.append(f"{where} adds capabilities {sorted(extra)}")
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append(f"{where} uses hostPort {p['hostPort']}")
        if sc.get("procMount", "Default") != "Default":
            out.append(f"{where} procMount is {sc['procMount']}")
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            out.append(f"{where} seccompProfile is Unconfined")
        if (sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
            out.append(f"{where} appArmorProfile is Unconfined")
        for key, value in (sc.get("seLinuxOptions") or {}).items():
            if (key == "type" and value not in SELINUX_TYPES) or (key in ("user", "role") and value):
                out.append(f"{where} seLinuxOptions.{key} is {value!r}")
    return out


def violations(spec: dict[str, Any]) -> list[str]:
    """Every rule of the restricted level (baseline included) that the pod spec breaks."""
    out = baseline_violations(spec)
    psc = spec.get("securityContext") or {}
    for v in spec.get("volumes") or []:
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            out.append(f"volume {v.get('name')} has a type the restricted level forbids: {sorted(kinds)}")
    if psc.get("runAsUser") == 0:
        out.append("pod runAsUser is 0")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    for where, c in _containers(spec):
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where} does not set allowPrivilegeEscalation: false")
        non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        if non_root is not True:
            out.append(f"{where} does not run with runAsNonRoot: true (pod or container)")
        if sc.get("runAsUser") == 0:
            out.append(f"{where} runAsUser is 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"{where} seccompProfile is {seccomp!r}, not RuntimeDefault or Localhost")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"{where} does not drop ALL capabilities")
        extra = set(caps.get("add") or []) - RESTRICTED_CAPABILITIES
        if extra:
            out.append(f"{where} adds capabilities beyond NET_BIND_SERVICE: {sorted(extra)}")
    return out
