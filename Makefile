# platform-databases: the two commands are `make up` and `make test`.
# Every target installs what it needs: a supported Node (from the npm registry
# when the machine's is older than 22), node_modules (npm ci when the lockfile
# changed), and the Pulumi engine built from Go modules (cached in
# ~/.cache/platform-databases, reused while the pinned versions match).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

STACK ?= dev
NODE_BIN := $(shell scripts/ensure-node.sh | tail -n1)
export PATH := $(NODE_BIN):$(PATH)
TSX := node_modules/.bin/tsx
PULUMI := scripts/pulumi.sh

.PHONY: help deps tools test-tools up down preview test test-unit test-e2e typecheck bench bench-ci clean-local

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

node_modules/.stamp: package.json package-lock.json
	@echo "==> npm ci (node $$(node --version))"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.stamp ## install node_modules with the lockfile

tools: ## build or reuse the Pulumi CLI, language host and postgresql provider
	@scripts/ensure-pulumi.sh >/dev/null

up: deps tools ## start the local server and `pulumi up --refresh` the dev stack (STACK=dev): also repairs drift; CLUSTER=1 adds the local cluster's objects
	@echo "==> local PostgreSQL for stack $(STACK)"
	$(TSX) scripts/local-server.ts start $(STACK)
	@echo "==> pulumi up ($(STACK)$(if $(CLUSTER),; objects in the local cluster, namespace databases))"
	$(if $(CLUSTER),$(TSX) scripts/local-cluster.ts start)
	$(PULUMI) $(STACK) up --yes --skip-preview --refresh \
	  $(if $(CLUSTER),--config-file "$$($(TSX) scripts/local-cluster.ts stack-config $(STACK))")
	@echo "==> stack outputs ($(STACK); secrets hidden)"
	$(PULUMI) $(STACK) stack output
	@$(TSX) scripts/connect-help.ts $(STACK)

down: deps tools ## destroy the stack and stop its local server (RESET=1 also deletes its data)
	@if $(TSX) scripts/local-server.ts status $(STACK) >/dev/null 2>&1; then \
	  $(PULUMI) $(STACK) destroy --yes --skip-preview; \
	else echo "==> server for $(STACK) not running; nothing to destroy"; fi
	$(TSX) scripts/local-server.ts $(if $(RESET),reset,stop) $(STACK)

preview: deps tools ## `pulumi preview` of STACK
	$(PULUMI) $(STACK) preview --diff

typecheck: deps ## tsc --noEmit
	node_modules/.bin/tsc --noEmit

test-unit: deps test-tools ## unit and mock tests (two files run the engine on a scratch stack)
	node_modules/.bin/vitest run --project unit

test-e2e: deps test-tools ## end-to-end tests: real engine, real PostgreSQL
	node_modules/.bin/vitest run --project e2e

# Everything the tests run, longest builds first (scripts/ensure-tools.sh runs TOOL_JOBS at a time, default the cores).
TEST_TOOLS := kubernetes-provider kube-control-plane pulumi promtool openfga helm fake-gcs keycloak actionlint \
  pg-client s3-emulator prometheus-operator-crds

test-tools: ## build or reuse, several at a time, what the tests run: the Pulumi CLI and provider, actionlint, promtool, helm, OpenFGA, Keycloak, pg_dump/pg_restore, fake-gcs-server, the S3 emulator, the kubernetes provider, kube-apiserver + etcd
	@scripts/ensure-tools.sh $(TEST_TOOLS)

test: deps test-tools ## the whole suite (what CI runs): make lint, unit and mock tests, then end-to-end
	@$(MAKE) --no-print-directory lint
	node_modules/.bin/vitest run --project unit
	node_modules/.bin/vitest run --project e2e

# A local Kubernetes control plane (etcd + kube-apiserver, no kubelet) under .local/cluster (docs/cluster.md).
.PHONY: cluster-up cluster-down cluster-reset
cluster-up: deps ## start the local kube-apiserver + etcd (built from Go modules, cached) with the prometheus-operator CRDs; kubeconfig in .local/cluster/kubeconfig
	$(TSX) scripts/local-cluster.ts start

cluster-down: deps ## stop the local control plane (its data kept; cluster-reset deletes it)
	$(TSX) scripts/local-cluster.ts stop

cluster-reset: deps ## stop the local control plane and delete .local/cluster
	$(TSX) scripts/local-cluster.ts reset

# What a deployment takes from a stack: Helm values and the ADR's environment variables.
.PHONY: helm-values env
helm-values: deps tools ## write deployments/helm/values-<STACK>.generated.yaml from the stack output helmValues
	@$(TSX) scripts/helm-values.ts $(STACK)

env: deps tools ## print the ADR's environment variables for STACK (ARGS=--show-secrets includes passwords)
	@$(TSX) scripts/env.ts $(STACK) $(ARGS)

# Credential rotation (docs/rotation.md).
.PHONY: rotate
rotate: deps tools ## rotate SERVICE's credentials on STACK: raise its counter in config rotations, then pulumi up (the other login user becomes active)
	@$(TSX) scripts/rotate.ts $(STACK) $(if $(SERVICE),--service $(SERVICE)) $(ARGS)

# Managed-schema services: migrations (the runner the Pulumi program uses) and the retention purge.
.PHONY: migrate purge
migrate: deps ## apply a managed-schema service's migrations on STACK (SERVICE=gdpr by default; ARGS=--dry-run lists them)
	$(TSX) scripts/migrate.ts --stack $(STACK) $(if $(SERVICE),--service $(SERVICE)) $(ARGS)

purge: deps ## run a retention purge once on STACK as its retention role (SERVICE=gdpr by default; ARGS=--json)
	@$(TSX) scripts/purge.ts $(if $(findstring --from-env,$(ARGS)),,$(STACK) $(if $(SERVICE),--service $(SERVICE))) $(ARGS)

# Logical backups per database and verified restores (docs/backup.md).
.PHONY: backup restore backup-erasures
backup: deps ## back up STACK's databases as their backup roles (SERVICE=one only), with a manifest, to each service's destination
	@PG_CLIENT_BIN="$$(scripts/ensure-pg-client.sh | tail -n1)" $(TSX) scripts/backup.ts backup $(STACK) $(if $(SERVICE),--service $(SERVICE)) $(ARGS)

restore: deps ## restore SERVICE's latest backup (BACKUP=<id>) into a fresh database (INTO=<name>) of STACK, verified against its manifest; REPLACE=<its database> swaps it in for the live one
	@PG_CLIENT_BIN="$$(scripts/ensure-pg-client.sh | tail -n1)" $(TSX) scripts/backup.ts restore $(STACK) $(if $(SERVICE),--service $(SERVICE)) $(if $(BACKUP),--backup $(BACKUP)) $(if $(INTO),--into $(INTO)) $(if $(REPLACE),--replace $(REPLACE)) $(ARGS)

backup-erasures: deps ## copy STACK's GDPR erasure logs (SERVICE=one only) to their backup destinations, when they grew; a restore re-applies them
	@$(TSX) scripts/backup.ts erasures $(STACK) $(if $(SERVICE),--service $(SERVICE)) $(ARGS)

# Drift and recovery (docs/operations.md).
.PHONY: drift recover
drift: deps ## has the server drifted from STACK? refresh preview + make check; exit 0 clean, 1 drift, 2 error (ARGS=--json, --markdown FILE)
	@$(TSX) scripts/drift.ts $(STACK) $(ARGS)

recover: deps ## after an interrupted update of STACK: release a dead process's lock, settle pending operations (ARGS=--cancel for a cloud backend)
	@$(TSX) scripts/stack-recover.ts $(STACK) $(ARGS)

# Health checks and metrics, as the monitoring role (docs/health.md).
.PHONY: check metrics
PORT ?= 9187
check: deps ## verify STACK's databases as the monitoring role (ARGS=--json; ARGS="--from-env --environment prod" for DATABASE_MONITOR_URL / PG*)
	@$(TSX) scripts/check.ts $(if $(findstring --from-env,$(ARGS)),,$(STACK)) $(ARGS)

metrics: deps ## serve STACK's metrics on http://127.0.0.1:PORT/metrics (also /healthz, /readyz)
	@$(TSX) scripts/metrics.ts $(if $(findstring --from-env,$(ARGS)),,$(STACK)) --port $(PORT) $(ARGS)

# Static checks (make lint runs them all, reporting every failure) and the git hook.
.PHONY: lint lint-tools lint-types lint-eslint lint-format lint-workflows lint-shell lint-names lint-layers hooks
LINT_CHECKS := lint-types lint-eslint lint-format lint-workflows lint-shell lint-names lint-layers

lint: deps lint-tools ## static checks: tsc, eslint, prettier --check, actionlint, shellcheck, ADR-0060 naming check, components/ layers
	@$(MAKE) --no-print-directory -k $(LINT_CHECKS)

lint-tools: ## build or reuse the pinned actionlint and shellcheck (needed by make lint and the tests)
	@scripts/ensure-actionlint.sh >/dev/null

lint-types: deps
	@echo "==> tsc --noEmit"
	node_modules/.bin/tsc --noEmit

lint-eslint: deps
	@echo "==> eslint"
	node_modules/.bin/eslint .

lint-format: deps
	@echo "==> prettier --check"
	node_modules/.bin/prettier --check --log-level warn .

lint-workflows: lint-tools
	@echo "==> actionlint .github/workflows"
	@tools="$$(scripts/ensure-actionlint.sh)"; \
	  "$$(tail -n1 <<<"$$tools")" -shellcheck="$$(tail -n2 <<<"$$tools" | head -n1)" .github/workflows/*.yml

# Every tracked shell script (by shebang or .sh), with the pinned shellcheck.
lint-shell: lint-tools
	@echo "==> shellcheck (shell scripts)"
	@tools="$$(scripts/ensure-actionlint.sh)"; \
	  git ls-files -z -- '*.sh' .ci/run | xargs -0 "$$(tail -n2 <<<"$$tools" | head -n1)" -x -P SCRIPTDIR

lint-names: deps ## ADR-0060 naming check of compose files, stack files, Helm values, init script
	@echo "==> naming check (ADR-0060)"
	$(TSX) scripts/naming-check.ts

lint-layers: deps ## components/ layering and no import cycles (.dependency-cruiser.cjs)
	@echo "==> dependency-cruiser (components/ layers)"
	node_modules/.bin/depcruise --config .dependency-cruiser.cjs --output-type err-long components index.ts

hooks: ## install the git pre-commit hook (ADR-0060 naming check on staged files)
	scripts/install-git-hooks.sh

bench: deps tools ## timings of pulumi up/preview vs plain psql and OpenTofu (medians; builds OpenTofu once)
	$(TSX) scripts/bench.ts
	$(TSX) scripts/bench-migrations.ts

bench-ci: ## time CI's .ci/run on a fresh clone: cold (empty HOME) then cached (ARGS=--cached: only that)
	scripts/bench-ci.sh $(ARGS)

clean-local: ## stop every local server and delete .local/ (state, passwords, data)
	-for s in dev test; do $(TSX) scripts/local-server.ts reset $$s 2>/dev/null; done
	rm -rf .local
