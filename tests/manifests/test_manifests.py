"""What the rendered manifests promise: probes, image, resources, rollout, ingress, config, TLS,
and that dev and prod differ exactly where their inventories say."""

from __future__ import annotations

import base64
import json
import math
import re

import pytest
import yaml
from cryptography import x509
from rendering import ENVS, FAKE_REGISTRY_PASSWORD, ROOT, iter_leaves

REGISTRY = "registry.cloudnative:5000"
CONFIG_KEYS = {
    "env", "port", "max_n", "cache", "cache_size", "log_level", "version", "drain_seconds",
    "shutdown_timeout_seconds", "processes",
}  # fmt: skip


def container(r):
    return r.kind("Deployment")["spec"]["template"]["spec"]["containers"][0]


def app_config(r):
    return yaml.safe_load(r.kind("ConfigMap")["data"]["config.yaml"])


def test_render_writes_one_file_per_object(rendered):
    for env, r in rendered.items():
        kinds = sorted(o["kind"] for o in r.objects.values())
        assert kinds == sorted(
            [
                "ConfigMap",
                "Deployment",
                "HorizontalPodAutoscaler",
                "Ingress",
                "Namespace",
                "NetworkPolicy",
                "NetworkPolicy",
                "NetworkPolicy",
                "PodDisruptionBudget",
                "Secret",
                "Secret",
                "Service",
                "ServiceAccount",
            ]
        ), f"{env}: {kinds}"
        for name, obj in r.objects.items():
            if obj["kind"] != "Namespace":
                assert obj["metadata"]["namespace"] == f"cloudnative-{env}", name


@pytest.mark.parametrize("env", ENVS)
def test_probes_use_the_environment_prefix(rendered, env):
    c = container(rendered[env])
    assert c["readinessProbe"]["httpGet"]["path"] == f"/{env}/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == f"/{env}/healthz"
    assert c["startupProbe"]["httpGet"]["path"] == f"/{env}/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["port"] == "http"
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


@pytest.mark.parametrize("env", ENVS)
def test_image_is_the_registry_image_tagged_with_app_version_and_git_commit(rendered, env):
    shas = "|".join(rendered["dev"].git_heads)
    version = re.search(r'(?m)^version\s*=\s*"([^"]+)"', (ROOT / "app/pyproject.toml").read_text()).group(1)
    image = container(rendered[env])["image"]
    assert re.fullmatch(
        rf"{re.escape(REGISTRY)}/cloudnative/httpserver:{re.escape(version)}-({shas})(-dirty\.[0-9a-f]{{8}})?",
        image,
    ), image
    spec = rendered[env].kind("Deployment")["spec"]["template"]["spec"]
    assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}]


@pytest.mark.parametrize("env", ENVS)
def test_pull_secret_carries_the_registry_credentials(rendered, env):
    secret = rendered[env].kind("Secret", "registry-credentials")
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    assert base64.b64decode(auths[REGISTRY]["auth"]).decode() == f"cloudnative:{FAKE_REGISTRY_PASSWORD}"
    assert (rendered[env].directory / "pull-secret.yaml").stat().st_mode & 0o077 == 0


def test_prod_resources_are_the_seed_values_and_burstable(rendered):
    assert container(rendered["prod"])["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }


@pytest.mark.parametrize("env", ENVS)
def test_qos_is_burstable(rendered, env):
    res = container(rendered[env])["resources"]
    assert res["requests"] and res["limits"] and res["requests"] != res["limits"]


@pytest.mark.parametrize("env", ENVS)
def test_rollout_never_drops_below_the_desired_count(rendered, env):
    spec = rendered[env].kind("Deployment")["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


@pytest.mark.parametrize("env", ENVS)
def test_termination_grace_exceeds_drain_plus_shutdown(rendered, group_vars, env):
    grace = rendered[env].kind("Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    gv = group_vars[env]
    assert grace > gv["httpserver_drain_seconds"] + gv["httpserver_shutdown_timeout_seconds"]


@pytest.mark.parametrize("env", ENVS)
def test_pod_spreads_over_nodes_and_mounts_the_config(rendered, env):
    spec = rendered[env].kind("Deployment")["spec"]["template"]["spec"]
    (spread,) = spec["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
    assert spec["automountServiceAccountToken"] is False
    assert rendered[env].kind("ServiceAccount")["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert (
        volumes[mounts["/etc/httpserver"]]["configMap"]["name"]
        == rendered[env].kind("ConfigMap")["metadata"]["name"]
    )


@pytest.mark.parametrize("env", ENVS)
def test_config_map_has_the_app_keys_and_the_seed_keys(rendered, env):
    r = rendered[env]
    cm = r.kind("ConfigMap")
    config = app_config(r)
    assert set(config) == CONFIG_KEYS
    assert config["env"] == env
    assert config["port"] == 8080
    assert cm["data"]["LOGLEVEL"] == config["log_level"]
    assert cm["data"]["VERSION"] == config["version"] == container(r)["image"].rsplit(":", 1)[1]
    assert cm["immutable"] is True
    env_refs = {e["name"]: e["valueFrom"]["configMapKeyRef"] for e in container(r)["env"]}
    assert env_refs == {
        "VERSION": {"name": cm["metadata"]["name"], "key": "VERSION"},
        "LOGLEVEL": {"name": cm["metadata"]["name"], "key": "LOGLEVEL"},
    }


def test_log_level_is_debug_in_dev_and_info_in_prod(rendered):
    assert app_config(rendered["dev"])["log_level"] == "DEBUG"
    assert app_config(rendered["prod"])["log_level"] == "INFO"


@pytest.mark.parametrize("env", ENVS)
def test_service_and_ingress_route_the_environment_prefix_over_tls(rendered, env):
    r = rendered[env]
    svc = r.kind("Service")["spec"]
    assert svc["type"] == "ClusterIP"
    assert svc["ports"] == [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"}]
    ing = r.kind("Ingress")["spec"]
    assert ing["ingressClassName"] == "traefik"
    assert ing["tls"] == [{"hosts": ["cloudnative"], "secretName": "httpserver-tls"}]
    (rule,) = ing["rules"]
    assert rule["host"] == "cloudnative"
    assert rule["http"]["paths"] == [
        {
            "path": f"/{env}",
            "pathType": "Prefix",
            "backend": {"service": {"name": "httpserver", "port": {"name": "http"}}},
        }
    ]


@pytest.mark.parametrize("env", ENVS)
def test_hpa_scales_the_deployment_on_cpu(rendered, group_vars, env):
    hpa = rendered[env].kind("HorizontalPodAutoscaler")["spec"]
    gv = group_vars[env]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "httpserver"}
    bounds = (gv["deploy_hpa_min_replicas"], gv["deploy_hpa_max_replicas"])
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == bounds
    # The HPA owns the count: a rendered (and applied) replicas would reset whatever the HPA set.
    assert "replicas" not in rendered[env].kind("Deployment")["spec"]
    assert hpa["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": gv["deploy_hpa_cpu_utilization"],
    }


@pytest.mark.parametrize("env", ENVS)
def test_tls_secret_holds_a_certificate_for_the_ingress_host_and_extra_names(
    rendered, group_vars, tls_dir, env
):
    secret = rendered[env].kind("Secret", "httpserver-tls")
    assert secret["type"] == "kubernetes.io/tls"
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    )
    assert names == ["cloudnative", *group_vars[env]["tls_extra_names"]]
    ca = x509.load_pem_x509_certificate((tls_dir / "ca.crt").read_bytes())
    cert.verify_directly_issued_by(ca)
    assert b"PRIVATE KEY" in base64.b64decode(secret["data"]["tls.key"])
    for key in ("ca.key", f"{env}.key"):
        assert (tls_dir / key).stat().st_mode & 0o777 == 0o600, key


# Where each inventory variable shows in the manifests: file, path of the leaf (see iter_leaves), and how the
# rendered value is computed from the variable's value.
def _expected_places(gv):
    env, ns = gv["httpserver_env"], gv["httpserver_namespace"]
    c = "spec.template.spec.containers[httpserver]"
    places = {
        "httpserver_env": [
            ("configmap.yaml", "config.yaml:env", env),
            ("ingress.yaml", "spec.rules[0].http.paths[0].path", f"/{env}"),
            ("deployment.yaml", f"{c}.readinessProbe.httpGet.path", f"/{env}/readyz"),
        ],
        "httpserver_namespace": [
            (f, "metadata.namespace", ns) for f in ("deployment.yaml", "service.yaml", "ingress.yaml")
        ]
        + [("namespace.yaml", "metadata.name", ns)],
        "httpserver_drain_seconds": [
            ("configmap.yaml", "config.yaml:drain_seconds", gv["httpserver_drain_seconds"])
        ],
        "httpserver_shutdown_timeout_seconds": [
            (
                "configmap.yaml",
                "config.yaml:shutdown_timeout_seconds",
                gv["httpserver_shutdown_timeout_seconds"],
            ),
            (
                "deployment.yaml",
                "spec.template.spec.terminationGracePeriodSeconds",
                math.ceil(gv["httpserver_drain_seconds"] + gv["httpserver_shutdown_timeout_seconds"]) + 5,
            ),
        ],
        "config_max_n": [("configmap.yaml", "config.yaml:max_n", gv["config_max_n"])],
        "config_cache": [("configmap.yaml", "config.yaml:cache", gv["config_cache"])],
        "config_cache_size": [("configmap.yaml", "config.yaml:cache_size", gv["config_cache_size"])],
        "config_log_level": [
            ("configmap.yaml", "config.yaml:log_level", gv["config_log_level"]),
            ("configmap.yaml", "data.LOGLEVEL", gv["config_log_level"]),
        ],
        "deploy_hpa_min_replicas": [
            ("horizontalpodautoscaler.yaml", "spec.minReplicas", gv["deploy_hpa_min_replicas"])
        ],
        "deploy_hpa_max_replicas": [
            ("horizontalpodautoscaler.yaml", "spec.maxReplicas", gv["deploy_hpa_max_replicas"])
        ],
        "deploy_hpa_cpu_utilization": [
            (
                "horizontalpodautoscaler.yaml",
                "spec.metrics[0].resource.target.averageUtilization",
                gv["deploy_hpa_cpu_utilization"],
            )
        ],
        "deploy_hpa_scale_down_stabilization_seconds": [
            (
                "horizontalpodautoscaler.yaml",
                "spec.behavior.scaleDown.stabilizationWindowSeconds",
                gv["deploy_hpa_scale_down_stabilization_seconds"],
            )
        ],
        "tls_extra_names": [],  # checked on the certificate itself (test_tls_secret_holds_...)
    }
    places["deploy_resources"] = [
        ("deployment.yaml", f"{c}.resources.{kind}.{res}", gv["deploy_resources"][kind][res])
        for kind in ("requests", "limits")
        for res in ("cpu", "memory")
    ]
    places["deploy_pdb"] = [("poddisruptionbudget.yaml", f"spec.{k}", v) for k, v in gv["deploy_pdb"].items()]
    return places


def _leaves(r):
    out = {}
    for name, obj in r.objects.items():
        for path, value in iter_leaves(obj):
            out[(name, path)] = value
        if obj["kind"] == "ConfigMap":
            for path, value in iter_leaves(yaml.safe_load(obj["data"]["config.yaml"])):
                out[(name, f"config.yaml:{path}")] = value
    return out


def test_every_inventory_variable_lands_where_expected(rendered, group_vars):
    for env in ENVS:
        gv, leaves = group_vars[env], _leaves(rendered[env])
        places = _expected_places(gv)
        assert set(places) == set(gv), f"update _expected_places for: {set(gv) ^ set(places)}"
        for var, expected in places.items():
            for file, path, value in expected:
                assert leaves.get((file, path)) == value, (
                    f"{env}: {var} should put {value!r} at {file} {path}"
                )


def test_dev_and_prod_differ_exactly_where_the_inventories_say(rendered, group_vars):
    dev, prod = _leaves(rendered["dev"]), _leaves(rendered["prod"])
    assert set(dev) ^ set(prod) == {
        ("poddisruptionbudget.yaml", "spec.maxUnavailable"),
        ("poddisruptionbudget.yaml", "spec.minAvailable"),
    }, "only the PDB's kind of budget may add or remove a field"
    differing = {k for k in set(dev) & set(prod) if dev[k] != prod[k]}
    differing_vars = {v for v in group_vars["dev"] if group_vars["dev"][v] != group_vars["prod"][v]}
    explained = {(f, p) for var in differing_vars for f, p, _ in _expected_places(group_vars["dev"])[var]}
    unexplained = set()
    for key in differing - explained:
        file, path = key
        d, p = str(dev[key]), str(prod[key])
        if d.replace("dev", "prod") == p:
            # The environment's name in a label, name, namespace or path (httpserver_env, _namespace).
            continue
        if file == "configmap.yaml" and path in ("metadata.name", "data.config.yaml"):
            continue  # the ConfigMap's content and the hash in its name follow its data, checked key by key
        if re.search(r"(configMapKeyRef|configMap)\.name$", path):
            continue  # the references to that content-named ConfigMap
        if file == "secret-httpserver-tls.yaml" and path.startswith("data."):
            continue  # each environment has its own key and certificate (names: test_tls_secret_holds_...)
        unexplained.add((key, dev[key], prod[key]))
    assert not unexplained, f"dev and prod differ where no inventory variable says so: {sorted(unexplained)}"


@pytest.mark.parametrize("env", ENVS)
def test_network_policies_deny_all_but_the_ingress_to_the_app_port_and_dns(rendered, env):
    r = rendered[env]
    deny = r.kind("NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}

    deployment = r.kind("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    port = container(r)["ports"][0]["containerPort"]
    allow = r.kind("NetworkPolicy", "httpserver-from-ingress")["spec"]
    selected = allow["podSelector"]["matchLabels"]
    assert selected.items() <= pod_labels.items(), "the ingress policy does not select the app's pods"
    assert allow["policyTypes"] == ["Ingress"]
    (rule,) = allow["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": port}]
    (peer,) = rule["from"]
    assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}
    assert peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "traefik"}}

    dns = r.kind("NetworkPolicy", "httpserver-dns")["spec"]
    assert dns["podSelector"] == {} and dns["policyTypes"] == ["Egress"]
    (rule,) = dns["egress"]
    assert sorted(p["protocol"] for p in rule["ports"]) == ["TCP", "UDP"]
    assert {p["port"] for p in rule["ports"]} == {53}
    assert rule["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
