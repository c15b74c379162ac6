#!/usr/bin/env bash
# Hyperion's two entry points:
#   ./build.sh run    install what is missing, build, start the whole graph (Ctrl+C stops it)
#   ./build.sh test   install what is missing, build in Release (and the GPU build), run every test; exit code is the verdict
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(redis-server postgresql python3-onnx python3-sklearn python3-numpy wrk)

missing_packages() {
  local missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  echo "${missing[@]:-}"
}

install_prerequisites() {
  command -v dotnet >/dev/null || { echo "dotnet (the .NET 10 SDK) is not on PATH: install it first." >&2; exit 1; }
  command -v dpkg-query >/dev/null || { echo "Not a Debian/Ubuntu machine: install ${APT_PACKAGES[*]} yourself." >&2; return; }
  local missing
  missing=$(missing_packages)
  [ -z "$missing" ] && return
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      echo "Missing packages; install them with:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y $missing" >&2
      exit 1
    fi
  fi
  echo "Installing: $missing"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
  # Debian's postgresql package starts a cluster of its own; Hyperion runs its own server under .hyperion/.
  if command -v pg_lsclusters >/dev/null; then
    $sudo service postgresql stop >/dev/null 2>&1 || true
  fi
}

# The publishing tests validate the published Kubernetes tree with npm packages (tools/k8s-validate)
# and render its kustomize overlays with kubectl.
prepare_publishing_checks() {
  local node_major
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$node_major" -lt 20 ] || ! command -v npm >/dev/null; then
    echo "Node.js 20 or later with npm is not on PATH: the publishing tests validate the Kubernetes manifests with npm packages (tools/k8s-validate)." >&2
    echo "Install it from https://nodejs.org/en/download (Debian bookworm's nodejs 18 is older than the schema packages support)." >&2
    exit 1
  fi
  if ! command -v kubectl >/dev/null; then
    echo "kubectl is not on PATH: the publishing tests render the Kubernetes overlays with \`kubectl kustomize\`." >&2
    echo "Install kubectl 1.27 or later (it carries kustomize v5): https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/" >&2
    exit 1
  fi
  npm ci --prefix tools/k8s-validate --no-audit --no-fund --loglevel=error >/dev/null
}

build() {
  dotnet build Hyperion.sln -c Release -nologo -v quiet -clp:ErrorsOnly
}

# The GPU build (ONNX Runtime's CUDA package) must keep compiling, though only a GPU machine runs it
# (tools/gpu-check.sh). It lands in bin/gpu and obj/gpu, beside the CPU build's outputs.
build_gpu() {
  local project
  for project in Hyperion.Inference Hyperion.Benchmarks; do
    dotnet build "$project" -c Release -p:HyperionGpu=true -nologo -v quiet -clp:ErrorsOnly
  done
}

run() {
  install_prerequisites
  build
  echo
  echo "Starting Hyperion: gateway http://127.0.0.1:5080, dashboard http://127.0.0.1:18888,"
  echo "admin key $(pwd)/.hyperion/admin-key. The AppHost prints the dashboard's login URL; the sample is deployed once everything is healthy."
  echo
  # The built AppHost itself, not `dotnet run`: one process receives Ctrl+C and stops the graph.
  exec dotnet Hyperion.AppHost/bin/Release/net10.0/Hyperion.AppHost.dll "$@"
}

test_all() {
  install_prerequisites
  prepare_publishing_checks
  build
  build_gpu
  local results
  results=$(mktemp -d)
  set +e
  dotnet test Hyperion.sln -c Release --no-build -nologo \
    --logger "trx;LogFilePrefix=results" --logger "console;verbosity=normal" --results-directory "$results"
  local status=$?
  set -e
  local passed=0 failed=0 skipped=0
  for trx in "$results"/*.trx; do
    [ -f "$trx" ] || continue
    local counters
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
    passed=$((passed + $(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")))
    failed=$((failed + $(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")))
    skipped=$((skipped + $(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")))
  done
  rm -rf "$results"
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1 # the run itself failed (a crash, a build problem): never report it as green
  fi
  if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
  else
    echo "$passed passed, $failed failed"
  fi
  [ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
}

case "${1:-}" in
  run) shift; run "$@" ;;
  test) shift; test_all ;;
  *) echo "usage: ./build.sh run [AppHost args...] | ./build.sh test" >&2; exit 2 ;;
esac
