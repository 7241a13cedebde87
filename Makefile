# The verbs a newcomer types. Every target is safe to rerun: each step reuses what is already there.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
PLAYBOOK := $(VENV)/bin/ansible-playbook
PYTEST := $(VENV)/bin/pytest
STAGE := scripts/stage.sh

.PHONY: up test check timing-start venv cluster deploy lint unit manifests e2e bench bench-deploy bench-cluster bench-build down \
	up-multinode deploy-multinode down-multinode test-multinode molecule-multinode test-hosts-image \
	conformance conformance-subset conformance-prep conformance-images

## up: Python env, Docker Engine, registry, cluster, image, TLS, dev and prod deployed, then the curl to try.
up: export CLOUDNATIVE_TIMING_DIR := $(CURDIR)/.timing/up
up: timing-start venv cluster deploy
	@scripts/timing-report.sh .timing/up
	@echo
	@echo "Ready. Try:"
	@echo "  curl --cacert /etc/cloudnative/tls/ca.crt https://cloudnative/prod/fibo?n=10"
	@echo "  curl --cacert /etc/cloudnative/tls/ca.crt https://cloudnative/dev/fibo?n=10"

## test: every test, from lint to end-to-end; brings up (or reuses) what the end-to-end tests need.
test: venv
	@scripts/test-all.sh

## check: the stages of `make test` that need no cluster (lint, unit, manifests, process, collection checks).
check: venv
	@scripts/test-checks.sh

# A fresh timing report for `make up` (scripts/stage.sh appends each stage and playbook task to it).
timing-start:
	@rm -rf .timing/up

venv:
	@$(STAGE) python-env scripts/bootstrap-python.sh

cluster: venv
	@$(STAGE) cluster $(PLAYBOOK) playbooks/cluster.yml -i inventories/dev

deploy: venv
	@$(STAGE) deploy-dev $(PLAYBOOK) playbooks/site.yml -i inventories/dev
	@$(STAGE) deploy-prod $(PLAYBOOK) playbooks/site.yml -i inventories/prod

lint: venv
	@$(STAGE) ruff $(VENV)/bin/ruff check .
	@$(STAGE) ruff-format $(VENV)/bin/ruff format --check .
	@$(STAGE) ansible-lint $(VENV)/bin/ansible-lint

unit: venv
	@$(STAGE) unit $(PYTEST) tests/unit

manifests: venv
	@$(STAGE) manifests $(PYTEST) tests/manifests

e2e: venv
	@$(STAGE) e2e $(PYTEST) tests/e2e

bench: venv
	@$(STAGE) bench-app $(VENV)/bin/python bench/run_app_bench.py

## bench-deploy: site.yml against kubectl and Helm, the ingress's cost, plots (needs the cluster up).
bench-deploy: venv
	@$(STAGE) bench-deploy bench/deploy/run.sh

## bench-cluster: cluster.yml no-op (median of 5) and from a cleared node; tears the cluster down on the way.
bench-cluster: venv
	@$(STAGE) bench-cluster $(VENV)/bin/python bench/cluster/cluster_times.py

## bench-build: a cold build of every binary in scratch caches (about 15 minutes on 2 cores).
bench-build:
	@$(STAGE) bench-build bench/build/cold_build.sh --jobs 2

## down: stop and remove everything cluster.yml made.
down: venv
	@$(STAGE) teardown $(PLAYBOOK) playbooks/teardown.yml -i inventories/dev

# --- Multi-node: 3 control-plane hosts and a worker, as Debian 12 containers reached over SSH (test_hosts/). ---
MULTINODE := inventories/multinode

## test-hosts-image: Docker Engine (installed and started when missing), then the test hosts' node image, built
## offline with debootstrap (about a minute; cached).
test-hosts-image:
	@$(STAGE) docker-engine scripts/docker-engine.sh
	@$(STAGE) test-hosts-image test_hosts/build-node-image.sh

## up-multinode: start the test hosts named in inventories/multinode, bring the cluster up on them over SSH and
## deploy the app's prod environment there (built here, pushed to the registry on the first control-plane host).
up-multinode: export CLOUDNATIVE_TIMING_DIR := $(CURDIR)/.timing/up-multinode
up-multinode: venv test-hosts-image
	@$(STAGE) test-hosts $(VENV)/bin/python test_hosts/nodes.py up $(MULTINODE)
	@$(STAGE) cluster-multinode $(PLAYBOOK) playbooks/cluster.yml -i $(MULTINODE)
	@$(STAGE) deploy-multinode $(PLAYBOOK) playbooks/site.yml -i $(MULTINODE)
	@echo
	@echo "Ready. Try:"
	@echo "  kubectl --kubeconfig ~/.config/cloudnative-httpserver/multinode-pki/admin.conf get nodes -o wide"
	@echo "  curl --cacert ~/.config/cloudnative-httpserver/multinode-pki/tls/ca.crt \\"
	@echo "    --resolve cloudnative:443:172.28.0.21 https://cloudnative/prod/fibo?n=10"

## deploy-multinode: site.yml on the multi-node cluster (its prod environment; needs make up-multinode's cluster).
deploy-multinode: venv
	@$(STAGE) deploy-multinode $(PLAYBOOK) playbooks/site.yml -i $(MULTINODE)

## test-multinode: inventory checks, draining a worker and losing a control-plane host under HTTPS load to the app,
## a worker added by inventory and removed again (needs make up-multinode; about 7 minutes).
test-multinode: venv
	@$(STAGE) test-multinode $(PYTEST) -q -s tests/multinode

## molecule-multinode: molecule test -s multinode (create the test hosts, converge cluster.yml and site.yml,
## idempotence, verify with the scale out, destroy; about 17 minutes; not in `make test`, see docs/multinode.md).
molecule-multinode: venv test-hosts-image
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(STAGE) molecule-multinode $(VENV)/bin/molecule test -s multinode

## down-multinode: remove the test hosts, their volumes and network, and the PKI issued for them.
down-multinode: venv
	@$(STAGE) test-hosts-down $(VENV)/bin/python test_hosts/nodes.py down $(MULTINODE)
	@rm -rf ~/.config/cloudnative-httpserver/multinode-pki

# --- Conformance: the upstream Kubernetes suite at the cluster's exact version, offline (docs/conformance.md). ---
CONFORMANCE := scripts/conformance

## conformance-prep: build e2e.test, ginkgo and the suite's image tarballs (cached); needs no cluster.
conformance-prep:
	@$(STAGE) conformance-build roles/kube_binaries/files/build-from-goproxy/build-all.sh --jobs 2 \
		e2e.test ginkgo agnhost nonewprivs sample-apiserver
	@$(STAGE) conformance-images $(CONFORMANCE)/build-images.sh

## conformance-images: conformance-prep, then push the images to the cluster's registry.
conformance-images: conformance-prep
	@$(STAGE) conformance-push $(CONFORMANCE)/push-images.sh

## conformance: every [Conformance] test, parallel part then serial part, against the running cluster; JUnit,
## logs and summary under bench/results/conformance/, the summary into the README (see its figures).
conformance: venv conformance-images
	@$(STAGE) conformance $(CONFORMANCE)/run.sh --readme README.md --timeout 4200

## conformance-subset: CI's subset (scripts/conformance/ci-subset.txt: networking, pod lifecycle, ConfigMaps and
## Secrets, RBAC, API machinery), bounded at 10 minutes. Its tests mostly wait on pods: 4 processes ran it
## in 219 s (2: 342 s; 6: 171 s with a load average of 10 on 2 cores). CONFORMANCE_RESULTS=DIR: results there.
conformance-subset: venv conformance-images
	@$(STAGE) conformance-subset $(CONFORMANCE)/run.sh --subset --parts parallel --procs 4 --timeout 600 \
		$(if $(CONFORMANCE_RESULTS),--results $(CONFORMANCE_RESULTS))
