#!/usr/bin/env bash
# Static checks of the container and deployment files (no Docker engine or cluster needed):
#
#   hadolint          docker/Dockerfile (docker/.hadolint.yaml: every rule, fail from style level up)
#   shell scripts     this one and scripts/install-deploy-tools.sh, with shellcheck
#   check-jsonschema  docker/compose.yaml against the Compose Specification schema
#   validate-config   docker/compose/collectors.yaml and the collectors.yaml each chart values file renders
#   helm lint         --strict, default values and every docker/helm/temporal-collectors/ci/*.yaml
#   kubeconform       -strict: `helm template` of each values file against the Kubernetes schemas of the
#                     oldest supported and the newest Kubernetes release (generated offline, see
#                     scripts/install-deploy-tools.sh); every kind must really be validated, none skipped
#   subchart          `global` values (what a parent chart passes) are accepted; a parent chart renders
#   PrometheusRule    off by default; on, its alerts watch HWM freshness and failed runs
#   negative checks   bad values are refused by values.schema.json, a misspelt manifest field by
#                     kubeconform, a misspelt compose key by the Compose schema
#
# Tools come from scripts/install-deploy-tools.sh (pinned, under .tools/; the first run builds helm from
# the Go module proxy, a few minutes). Exit 0 only when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$SECONDS
# `node` below is the project's Node 22: on an older machine node, the pinned one scripts/setup.js installed
# (scripts/node-runtime.js). Under scripts/test.js it is already first on the PATH.
if node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 22 ? 0 : 1)'; then
  NODE22=$(node -e 'process.stdout.write(require("./scripts/node-runtime.js").pinnedNode() || "")')
  if [ -n "$NODE22" ]; then PATH="$(dirname "$NODE22"):$PATH"; fi
fi

CHART=docker/helm/temporal-collectors
COMPOSE=docker/compose.yaml
# A kind missing from this list in the rendered manifests is an error: the values files must exercise it.
REQUIRED_KINDS=(Deployment Service ConfigMap PodDisruptionBudget ServiceAccount Secret ServiceMonitor PrometheusRule)

bash scripts/install-deploy-tools.sh
# shellcheck source=/dev/null
source .tools/deploy-tools.env
TOOLS_SECONDS=$((SECONDS - T0))

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Helm keeps nothing of this run: no repositories, caches or plugins are involved.
export HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config HELM_DATA_HOME=$WORK/helm/data
read -r -a KUBE_VERSIONS <<<"$K8S_SCHEMA_VERSIONS"
OLDEST_KUBE=${KUBE_VERSIONS[0]}
SCHEMA_LOCATION="$K8S_SCHEMAS/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"

VALUES_FILES=("")
for f in "$CHART"/ci/*.yaml; do VALUES_FILES+=("$f"); done
label() { if [ -n "$1" ]; then printf '%s' "${1#"$CHART"/}"; else printf 'default values'; fi; }
values_args() { if [ -n "$1" ]; then printf '%s\0%s\0' -f "$1"; fi; }

RESULTS=()
FAILED=0
# check NAME COMMAND...: runs it, shows its output indented, records PASS/FAIL with the time it took.
check() {
  local name=$1 start=$SECONDS rc=0
  shift
  printf '\n== %s\n' "$name"
  "$@" >"$WORK/out" 2>&1 || rc=$?
  sed 's/^/   /' "$WORK/out"
  if [ "$rc" -eq 0 ]; then
    RESULTS+=("PASS  $name ($((SECONDS - start))s)")
  else
    RESULTS+=("FAIL  $name (exit $rc)")
    FAILED=$((FAILED + 1))
  fi
}
# expect_failure PATTERN COMMAND...: the command must fail and say PATTERN.
expect_failure() {
  local pattern=$1 rc=0
  shift
  "$@" >"$WORK/neg" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "accepted, but should have been refused"
    return 1
  fi
  if ! grep -Eq -- "$pattern" "$WORK/neg"; then
    echo "refused, but without saying /$pattern/:"
    cat "$WORK/neg"
    return 1
  fi
  echo "refused as expected:"
  # The tool's own words: helm's schema violations ("- at '/replicas': ..."), else the matching text.
  if grep -q "^- at '" "$WORK/neg"; then
    grep "^- at '" "$WORK/neg" | head -n 4 | sed 's/^/  /'
  else
    grep -Eo -- ".{0,100}$pattern.{0,60}" "$WORK/neg" | head -n 1 | sed 's/^/  .../'
  fi
}

render() { # values-file kube-version -> manifests on stdout
  local args=()
  mapfile -d '' args < <(values_args "$1")
  "$HELM" template check "$CHART" --namespace collectors --kube-version "$2" "${args[@]}"
}

# ---------------------------------------------------------------- container
check "hadolint docker/Dockerfile ($("$HADOLINT" --version | awk '{print $NF}'))" \
  "$HADOLINT" --config docker/.hadolint.yaml --no-color docker/Dockerfile

check "shellcheck scripts/check-deploy.sh scripts/install-deploy-tools.sh ($("$SHELLCHECK" --version | awk '/^version:/ {print $2}'))" \
  "$SHELLCHECK" -x scripts/check-deploy.sh scripts/install-deploy-tools.sh

# ---------------------------------------------------------------- compose
check "check-jsonschema $COMPOSE (Compose Specification)" \
  "$CHECK_JSONSCHEMA" --builtin-schema vendor.compose-spec "$COMPOSE"

# ---------------------------------------------------------------- collectors files
# The real config loader (collector validate-config) needs the npm dependencies; CI has them (npm test).
HAVE_NODE_MODULES=0
[ -f node_modules/.package-lock.json ] && [ -d node_modules/yaml ] && HAVE_NODE_MODULES=1
validate_collectors() { node bin/collector.js validate-config --config "$1"; }
rendered_collectors() { # values-file -> validates the collectors.yaml of the rendered ConfigMap
  render "$1" "$OLDEST_KUBE" >"$WORK/rendered.yaml"
  node -e '
    const { parseAllDocuments } = require("yaml");
    const text = require("node:fs").readFileSync(process.argv[1], "utf8");
    const cm = parseAllDocuments(text).map((d) => d.toJS()).find((d) => d && d.kind === "ConfigMap");
    if (!cm) { console.error("no ConfigMap rendered"); process.exit(1); }
    require("node:fs").writeFileSync(process.argv[2], cm.data["collectors.yaml"]);
  ' "$WORK/rendered.yaml" "$WORK/collectors.yaml"
  validate_collectors "$WORK/collectors.yaml"
}
if [ "$HAVE_NODE_MODULES" = 1 ]; then
  check "validate-config docker/compose/collectors.yaml" validate_collectors docker/compose/collectors.yaml
  for values in "${VALUES_FILES[@]}"; do
    check "validate-config: collectors.yaml rendered from $(label "$values")" rendered_collectors "$values"
  done
else
  RESULTS+=("SKIP  validate-config of the collectors files (no node_modules: run npm install)")
fi

# ---------------------------------------------------------------- the image's production closure
# What the runtime stage of docker/Dockerfile holds: dist/ and the production dependencies only
# (npm ci --omit=dev). Without a Docker engine, the same closure is assembled from node_modules (links to
# the packages package-lock.json does not mark dev) and the CLI must load in it: a module that imports a
# dev dependency at load time would crash the container at start. On by default (CHECK_DEPLOY_RUNTIME=0 skips): it
# compiles the project (~30 s) and needs the npm dependencies.
runtime_closure() {
  local app=$WORK/runtime/app
  mkdir -p "$app/node_modules"
  node -e '
    const { existsSync, mkdirSync, symlinkSync } = require("node:fs");
    const { dirname, join, resolve } = require("node:path");
    const lock = require(resolve("package-lock.json"));
    let n = 0;
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) || entry.dev || !existsSync(path)) continue;
      const target = join(process.argv[1], path.slice("node_modules/".length));
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(resolve(path), target);
      n += 1;
    }
    console.log("production closure: " + n + " top-level packages");
  ' "$app/node_modules"
  node_modules/.bin/tsc -p tsconfig.build.json --outDir "$app/dist" --incremental false --tsBuildInfoFile null
  cp -r bin package.json "$app/"
  # --preserve-symlinks: dependencies resolve inside the closure, not in the checkout's node_modules.
  local run=(env COLLECTOR_USE_DIST=1 COLLECTOR_VERSION=0.0.0-check COLLECTOR_BUILD_ID=check
    node --preserve-symlinks --preserve-symlinks-main "$app/bin/collector.js")
  "${run[@]}" --version
  "${run[@]}" validate-config --config docker/compose/collectors.yaml
}
if [ "${CHECK_DEPLOY_RUNTIME:-1}" = 1 ]; then
  if [ "$HAVE_NODE_MODULES" = 1 ]; then
    check "the CLI loads with production dependencies only (the image's runtime stage)" runtime_closure
  else
    RESULTS+=("SKIP  production closure (no node_modules: run npm install)")
  fi
fi

# ---------------------------------------------------------------- helm lint
lint() {
  local args=()
  mapfile -d '' args < <(values_args "$1")
  "$HELM" lint --strict "$CHART" --kube-version "$OLDEST_KUBE" "${args[@]}"
}
for values in "${VALUES_FILES[@]}"; do
  check "helm lint --strict, $(label "$values")" lint "$values"
done

# ---------------------------------------------------------------- kubeconform
conform() { # values-file kube-version
  render "$1" "$2" >"$WORK/manifests.yaml"
  "$KUBECONFORM" -strict -summary -verbose -kubernetes-version "$2" -schema-location "$SCHEMA_LOCATION" \
    "$WORK/manifests.yaml" | tee "$WORK/conform.txt"
  # Every resource validated against a schema: none skipped, none without a schema.
  grep -Eq 'Skipped: 0$' "$WORK/conform.txt" || { echo "some resources were skipped"; return 1; }
  sed -n 's/^.* - \([A-Za-z]*\) .* is valid$/\1/p' "$WORK/conform.txt" >>"$WORK/validated-kinds"
}
: >"$WORK/validated-kinds"
for kube in "${KUBE_VERSIONS[@]}"; do
  for values in "${VALUES_FILES[@]}"; do
    check "kubeconform -strict, Kubernetes $kube, $(label "$values")" conform "$values" "$kube"
  done
done
kinds_covered() {
  local kind missing=0
  for kind in "${REQUIRED_KINDS[@]}"; do
    if grep -qx "$kind" "$WORK/validated-kinds"; then
      echo "$kind: validated ($(grep -cx "$kind" "$WORK/validated-kinds") times)"
    else
      echo "$kind: never rendered and validated"
      missing=1
    fi
  done
  return "$missing"
}
check "every kind of the chart validated: ${REQUIRED_KINDS[*]}" kinds_covered

# ---------------------------------------------------------------- subchart and optional alerts
global_values() { # a parent chart's `global` must not trip the values schema (additionalProperties: false)
  "$HELM" template check "$CHART" --kube-version "$OLDEST_KUBE" --set global.foo=bar >/dev/null
  printf '%s\n' 'global:' '  imageRegistry: registry.example.com' '  labels: { team: data }' >"$WORK/global.yaml"
  "$HELM" template check "$CHART" --kube-version "$OLDEST_KUBE" -f "$WORK/global.yaml" >/dev/null
  echo "accepted: --set global.foo=bar, and a values file with global:"
}
check "values.schema.json accepts global values (--set global.foo=bar, a values file with global:)" global_values
as_subchart() { # the chart as a dependency of another chart, which passes its globals down
  local parent=$WORK/parent
  mkdir -p "$parent/charts"
  cp -r "$CHART" "$parent/charts/"
  printf '%s\n' 'apiVersion: v2' 'name: platform' 'version: 1.0.0' 'dependencies:' \
    '  - name: temporal-collectors' '    version: 0.1.0' >"$parent/Chart.yaml"
  printf '%s\n' 'global:' '  environment: prod' 'temporal-collectors:' '  replicas: 1' >"$parent/values.yaml"
  "$HELM" template platform "$parent" --namespace collectors --kube-version "$OLDEST_KUBE" >"$WORK/parent.yaml"
  "$KUBECONFORM" -strict -summary -kubernetes-version "$OLDEST_KUBE" -schema-location "$SCHEMA_LOCATION" "$WORK/parent.yaml"
  grep -q '^kind: Deployment$' "$WORK/parent.yaml" || { echo "no Deployment rendered by the parent chart"; return 1; }
}
check "the chart renders as a subchart of a parent chart with global values" as_subchart
prometheus_rule() { # off by default; on, it alerts on the freshness gauge and the failed-run counter
  render "" "$OLDEST_KUBE" >"$WORK/default.yaml"
  if grep -q '^kind: PrometheusRule$' "$WORK/default.yaml"; then echo "rendered although metrics.prometheusRule.enabled is false"; return 1; fi
  "$HELM" template check "$CHART" --namespace collectors --kube-version "$OLDEST_KUBE" --set metrics.prometheusRule.enabled=true \
    --show-only templates/prometheusrule.yaml >"$WORK/rule.yaml"
  local want
  for want in 'alert: CollectorDataStale' 'min by (collector) (collector_hwm_age_seconds{namespace="collectors"}) > 45000' \
    'alert: CollectorRunsFailing' 'increase(collector_runs_total{namespace="collectors",outcome="failed"}[6h])'; do
    grep -qF -- "$want" "$WORK/rule.yaml" || { echo "missing from the PrometheusRule: $want"; cat "$WORK/rule.yaml"; return 1; }
  done
  "$KUBECONFORM" -strict -summary -verbose -kubernetes-version "$OLDEST_KUBE" -schema-location "$SCHEMA_LOCATION" "$WORK/rule.yaml"
}
check "PrometheusRule: off by default; on, alerts on HWM freshness and failed runs (kubeconform)" prometheus_rule
no_metrics_rule() {
  expect_failure "needs metrics.enabled" "$HELM" template check "$CHART" --kube-version "$OLDEST_KUBE" \
    --set metrics.prometheusRule.enabled=true --set metrics.enabled=false
}
check "the chart refuses a PrometheusRule without metrics" no_metrics_rule

# ---------------------------------------------------------------- negative checks
SCHEMA_ERROR="values don't meet the specifications of the schema"
bad_values() { # name yaml...: helm must refuse the values
  printf '%s\n' "${@:2}" >"$WORK/bad-$1.yaml"
  expect_failure "$SCHEMA_ERROR" "$HELM" template check "$CHART" --kube-version "$OLDEST_KUBE" -f "$WORK/bad-$1.yaml"
}
check "values.schema.json refuses replicas: \"two\"" bad_values replicas 'replicas: "two"'
check "values.schema.json refuses an unknown key (replica)" bad_values unknown 'replica: 2'
check "values.schema.json refuses resourcesPreset: huge" bad_values preset 'resourcesPreset: huge'
check "values.schema.json refuses a Temporal address without a port" bad_values address 'temporal:' '  address: temporal.example.com'
check "values.schema.json refuses worker.mode: both" bad_values mode 'worker:' '  mode: both'
check "values.schema.json refuses an API key given twice" bad_values apikey \
  'temporal:' '  apiKey:' '    existingSecret: temporal-api-key' '    value: abc'
check "values.schema.json refuses secrets.existingSecret with secrets.data" bad_values secrets \
  'secrets:' '  existingSecret: s' '  data: { A: b }'
check "values.schema.json refuses a client certificate without its key" bad_values mtls \
  'temporal:' '  tls:' '    existingSecret: mtls' '    clientKeyKey: ""'
check "values.schema.json refuses a malformed image digest" bad_values digest 'image:' '  digest: latest'
check "values.schema.json refuses a PrometheusRule age threshold given as text" bad_values rule \
  'metrics:' '  prometheusRule:' '    hwmMaxAgeSeconds: 12h'
file_hwm() { # a collector with its HWM in the pod's emptyDir must be refused at install time
  printf '%s\n' 'config:' '  collectors:' '    c1:' '      source: { type: athena, region: us-east-1 }' \
    '      landing: { type: s3, bucket: b1, prefix: p, region: us-east-1 }' >"$WORK/file-hwm.yaml"
  expect_failure "keeps its HWM in a file inside the pod" "$HELM" template check "$CHART" --kube-version "$OLDEST_KUBE" -f "$WORK/file-hwm.yaml"
}
check "the chart refuses a collector whose HWM would live in the pod (no shared store)" file_hwm
bad_manifest() { # a misspelt field the values schema cannot see must still be caught by kubeconform
  printf '%s\n' 'extraEnv:' '  - name: OTEL_SERVICE_NAME' '    valu: collectors' >"$WORK/typo.yaml"
  render "$WORK/typo.yaml" "$OLDEST_KUBE" >"$WORK/typo-manifests.yaml"
  expect_failure "additional properties 'valu' not allowed" \
    "$KUBECONFORM" -strict -summary -kubernetes-version "$OLDEST_KUBE" -schema-location "$SCHEMA_LOCATION" "$WORK/typo-manifests.yaml"
}
check "kubeconform refuses an unknown field in a container env entry" bad_manifest
bad_compose() {
  sed 's/^    stop_grace_period:/    stop_grace_periode:/' "$COMPOSE" >"$WORK/compose.yaml"
  expect_failure "stop_grace_periode" "$CHECK_JSONSCHEMA" --builtin-schema vendor.compose-spec "$WORK/compose.yaml"
}
check "the Compose schema refuses a misspelt service key" bad_compose

# ---------------------------------------------------------------- summary
printf '\n== summary (tools: %ss, total: %ss)\n' "$TOOLS_SECONDS" "$((SECONDS - T0))"
printf '   hadolint %s, shellcheck %s, check-jsonschema %s, helm %s, kubeconform %s; Kubernetes schemas %s\n' \
  "$("$HADOLINT" --version | awk '{print $NF}')" "$("$SHELLCHECK" --version | awk '/^version:/ {print $2}')" \
  "$("$CHECK_JSONSCHEMA" --version | awk '{print $NF}')" \
  "$("$HELM" version --template '{{.Version}}')" "$("$KUBECONFORM" -v)" "${KUBE_VERSIONS[*]}"
printf '   %s\n' "${RESULTS[@]}"
PASSED=$(printf '%s\n' "${RESULTS[@]}" | grep -c '^PASS' || true)
echo "deploy: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
