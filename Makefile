# The two commands of the README. Each does its own set-up: dependencies are installed with `npm ci`
# whenever package-lock.json changed since the last install, so a fresh clone needs nothing else.
.PHONY: up test check bench setup kubectl

NPM_STAMP := node_modules/.ensemble-installed

setup: $(NPM_STAMP)

$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# test/deploy/kubernetes.test.ts renders the manifests with `kubectl kustomize`. Where kubectl is missing
# it comes from Debian (kubernetes-client; the manifests keep to what its kustomize understands).
kubectl:
	@command -v kubectl >/dev/null 2>&1 || { echo 'installing kubectl (Debian package kubernetes-client)'; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null; }

## Bring the whole system up on embedded defaults (Ctrl-C stops everything).
up: setup
	@npm run --silent up

## Lint, typecheck (tests included) and the full test suite; ends with `tests: N passed, M failed`.
test: setup kubectl
	@npm run --silent check

bench: setup
	@npm run --silent bench
