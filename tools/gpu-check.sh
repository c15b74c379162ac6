#!/usr/bin/env bash
# The check to run on a machine with an NVIDIA GPU: every ONNX test model on ONNX Runtime's CUDA execution provider
# and on CPU with the same inputs (outputs compared, PASS/FAIL per output), then mlp_heavy's batched throughput on
# both (rows/s at batch 1, 32 and 256). Installs nothing and needs no network.
#
#   tools/gpu-check.sh [--no-build] [gpu-check options: --device N --tolerance X --duration T --python FILE]
#
# It builds Hyperion.Benchmarks with -p:HyperionGpu=true (Release, into bin/gpu) unless --no-build is given or no
# dotnet SDK is here, in which case it runs the build found there. Exit code: 0 all PASS, 1 a FAIL, 2 bad options,
# 3 no usable GPU or CUDA (the message says what is missing). Options of the check itself: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

NO_CUDA=3
DLL=Hyperion.Benchmarks/bin/gpu/Release/net10.0/Hyperion.Benchmarks.dll
PROVIDER=$(dirname "$DLL")/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so

build=true
args=()
python=""
for arg in "$@"; do
  case "$arg" in
    --no-build) build=false ;;
    --help|-h) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$arg") ;;
  esac
done
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--python" ] && python="${args[$((i + 1))]:-}"
done

no_cuda() {
  echo "GPU check: no usable CUDA: $*" >&2
  exit "$NO_CUDA"
}

# 1. A GPU and its driver.
if ! command -v nvidia-smi >/dev/null; then
  no_cuda "nvidia-smi is not on PATH: no NVIDIA driver here (or no GPU). Run this on a machine with an NVIDIA GPU and driver 580 or later (CUDA 13)."
fi
if ! gpus=$(nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader 2>&1); then
  no_cuda "nvidia-smi found no usable GPU: $gpus"
fi
echo "GPUs (index, name, driver, memory):"
sed 's/^/  /' <<<"$gpus"

# 2. The GPU build: built here, or carried.
if $build && command -v dotnet >/dev/null && dotnet --list-sdks 2>/dev/null | grep -q .; then
  echo "Building Hyperion.Benchmarks with -p:HyperionGpu=true (Release)..."
  dotnet build Hyperion.Benchmarks -c Release -p:HyperionGpu=true -nologo -v quiet -clp:ErrorsOnly
elif [ ! -f "$DLL" ]; then
  echo "GPU check: $DLL is missing and there is no dotnet SDK here to build it;" >&2
  echo "  build it elsewhere with: dotnet build Hyperion.Benchmarks -c Release -p:HyperionGpu=true, and bring the repository with its bin/gpu folders" >&2
  exit 1
fi
if ! command -v dotnet >/dev/null; then
  echo "GPU check: the .NET 10 runtime (dotnet) is not on PATH; it runs $DLL" >&2
  exit 1
fi

# 3. The CUDA libraries ONNX Runtime's CUDA provider links. Python wheels (nvidia-cublas, nvidia-cudnn-cu13, ...)
#    carry them outside the loader's path: use those when the system has none.
missing_libraries() {
  ldd "$PROVIDER" 2>/dev/null | awk '/not found/ {print $1}'
}
if [ -f "$PROVIDER" ] && [ -n "$(missing_libraries)" ]; then
  for candidate in "$python" python3 /usr/bin/python3; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null || continue
    wheels=$("$candidate" -c 'import nvidia, os; print(os.path.dirname(list(nvidia.__path__)[0]))' 2>/dev/null) || continue
    lib_dirs=$(find "$wheels/nvidia" -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)
    if [ -n "$lib_dirs" ]; then
      echo "Adding the CUDA libraries of $candidate's nvidia wheels to LD_LIBRARY_PATH."
      export LD_LIBRARY_PATH="$lib_dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      break
    fi
  done
  if missing=$(missing_libraries) && [ -n "$missing" ]; then
    # libcuda.so.1 comes with the driver; the others with the CUDA 13 toolkit or runtime and cuDNN 9.
    no_cuda "ONNX Runtime's CUDA provider ($PROVIDER) needs libraries the loader cannot find: $(paste -sd' ' <<<"$missing"). Install the CUDA 13 runtime libraries (cuBLAS, cuRAND, cudart) and cuDNN 9, or put them on LD_LIBRARY_PATH."
  fi
fi

# 4. The check. The benchmark models need a Python with onnx and numpy: Debian's, or whichever python3 has them.
if [ -z "$python" ]; then
  for candidate in /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import onnx, numpy' 2>/dev/null; then
      args+=(--python "$(command -v "$candidate")")
      break
    fi
  done
fi
set +e
dotnet "$DLL" --gpu-check --repo . "${args[@]}"
status=$?
set -e
exit "$status"
