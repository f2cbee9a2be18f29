#!/usr/bin/env bash
# The bundled worker on arm64, under emulation (issue 29): cross-builds for
# aarch64-unknown-linux-gnu with Debian's gcc-aarch64-linux-gnu as the linker and runs under
# qemu-aarch64:
#   1. the worker crate's unit tests (each kernel, NEON included, against the stream
#      definition: edge samples, lane state, long runs);
#   2. the real hrun-mc-pi binary, built as a release, against the x86-64 one: the same hits
#      for every (samples, threads, seed) below, with the NEON kernel (chosen by itself) and
#      with the portable one forced, and a refused x86 kernel.
# Installs what is missing: the rustup target, and the apt packages gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross, qemu-user. Run from anywhere; CI calls it from .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
sysroot=/usr/aarch64-linux-gnu
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || need+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $sysroot"

echo "== aarch64: the worker crate's tests under qemu"
cargo test --release --locked -p hrun-mc-pi --target "$target"

echo "== aarch64: hrun-mc-pi against the x86-64 build"
cargo build --release --locked --target "$target" --bin hrun-mc-pi
cargo build --release --locked --bin hrun-mc-pi
arm=target/$target/release/hrun-mc-pi
x86=target/release/hrun-mc-pi
readelf -h "$arm" | grep -q 'Machine:.*AArch64' || { echo "aarch64.sh: $arm is not an aarch64 binary" >&2; exit 1; }

# field NAME of a TOML result on stdin
field() { awk -F' = ' -v k="$1" '$1 == k { gsub(/"/, "", $2); print $2 }'; }
failed=0
printf '%-10s %-3s %-20s %-12s %-12s %-12s %s\n' samples t seed x86-64 "arm64 neon" "arm64 scalar" ""
for case in "1 1 0" "7 1 1" "8 2 2" "1000003 3 99" "2000000 4 17" "123457 8 18446744073709551615" \
  "4000000 2 2024"; do
  read -r n t seed <<< "$case"
  args=(-n "$n" -t "$t" --seed "$seed")
  x=$("$x86" "${args[@]}" | field hits)
  neon_out=$(qemu-aarch64 -L "$sysroot" "$arm" "${args[@]}")
  a=$(field hits <<< "$neon_out")
  kernel=$(field kernel <<< "$neon_out")
  s=$(HRUN_MC_PI_KERNEL=scalar qemu-aarch64 -L "$sysroot" "$arm" "${args[@]}" | field hits)
  verdict=ok
  if [ "$x" != "$a" ] || [ "$x" != "$s" ] || [ "$kernel" != neon ]; then
    verdict="DIFFERENT (kernel chosen: $kernel)"
    failed=1
  fi
  printf '%-10s %-3s %-20s %-12s %-12s %-12s %s\n' "$n" "$t" "$seed" "$x" "$a" "$s" "$verdict"
done
if HRUN_MC_PI_KERNEL=avx2 qemu-aarch64 -L "$sysroot" "$arm" -n 10 >/dev/null 2>&1; then
  echo "aarch64.sh: HRUN_MC_PI_KERNEL=avx2 was not refused on arm64" >&2
  failed=1
fi
[ $failed = 0 ] || { echo "aarch64.sh: arm64 and x86-64 disagree" >&2; exit 1; }
echo "arm64 (qemu) and x86-64 count the same hits"
