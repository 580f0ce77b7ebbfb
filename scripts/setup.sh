#!/usr/bin/env bash
# Installs every Debian package that edgesim's build, tests and scripts need.
# Idempotent: when everything is present it only checks and returns (about a second).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ninja-build
  libsystemc-dev            # SystemC 2.3.4 + TLM-2.0 (pkg-config: systemc)
  libboost-program-options-dev
  nlohmann-json3-dev
  catch2                    # Catch2 v2 with Catch.cmake
  libspdlog-dev libfmt-dev
  zlib1g-dev                # inflate for .npz archives of captured activations
  libflatbuffers-dev        # TFLite models (FlatBuffers: Verifier, reader, builder)
  flatbuffers-compiler      # flatc: the TFLite schema subset's accessors, at build time
  libgemmlowp-dev           # gemmlowp's fixed-point exp/logistic/tanh, as TFLite's int8 kernels
  libarmnntfliteparser-dev  # Arm NN's TFLite parser: the independent check of the NPU's int8 execution
  libarmnn-cpuref-backend22 #   (tests/armnn/armnn_check.cpp) runs on its reference backend
  clang-14                  # the libFuzzer targets (fuzz/, scripts/fuzz.sh): clang's -fsanitize=fuzzer
  libclang-rt-14-dev        #   with ASan and UBSan; this package holds libFuzzer and the sanitizer runtimes
  python3                   # scripts/ (Debian's /usr/bin/python3)
  python3-matplotlib        # scripts/plot.py, scripts/npu_dataset_plot.py
  python3-sklearn           # scripts/npu_predictor.py: the baseline latency predictor on npu-dataset rows
  pybind11-dev              # the Python module `import edgesim` (python/), built by CMake
  python3-dev               #   and the headers of Debian's Python 3 it builds against
  python3-pytest            # the Python module's tests (tests/python/, run by ctest)
  slurm-wlm                 # the Slurm job-array test (scripts/slurm/run-local-slurm.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
