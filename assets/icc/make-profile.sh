#!/usr/bin/env bash
# Rebuild assets/icc/FOGRA39-booklet.icc from the FOGRA39L characterisation data
# shipped by Debian's icc-profiles-free package, with ArgyllCMS's colprof.
#
#   sudo apt-get install -y argyll icc-profiles-free   # argyll pulls in argyll-ref
#   bash assets/icc/make-profile.sh [output.icc]
#
# Made with argyll 2.3.1+repack-1.1+b1, argyll-ref 2.3.1+repack-1.1 and
# icc-profiles-free 2.0.1+dfsg-1.1. Other versions still work, but the tables
# may then differ slightly; the script says so when the versions differ.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/FOGRA39-booklet.icc}"

ti3=/usr/share/color/icc/FOGRA39L.ti3              # package icc-profiles-free
ti3_sha256=e44e6dfa81633588db98b5613a821d4a936d3d9438d2eb983083c3232df393fa
srgb=/usr/share/color/argyll/ref/sRGB.icm           # package argyll-ref
description="FOGRA39 (booklet, ArgyllCMS)"
# colprof stamps the build time into the ICC header; it is pinned so that every
# rebuild is byte-for-byte the shipped file (the profile carries no checksum ID).
header_date=(2026 11 27 0 0 0)                    # year month day hour minute second, UTC
copyright="Derived from FOGRA39L.ti3 (Debian icc-profiles-free; Copyright Kai-Uwe Behrmann; Zlib licence). Made with ArgyllCMS colprof; altered from the original data."

for tool in colprof dpkg-query sha256sum; do
    command -v "$tool" >/dev/null || { echo "make-profile: $tool not found; install argyll" >&2; exit 1; }
done
for file in "$ti3" "$srgb"; do
    [[ -f $file ]] || { echo "make-profile: $file missing; apt-get install -y argyll icc-profiles-free" >&2; exit 1; }
done
if [[ $(sha256sum "$ti3" | cut -d' ' -f1) != "$ti3_sha256" ]]; then
    echo "make-profile: $ti3 is not the file the shipped profile was made from (sha256 differs)" >&2
    exit 1
fi

want_versions="argyll=2.3.1+repack-1.1+b1 argyll-ref=2.3.1+repack-1.1 icc-profiles-free=2.0.1+dfsg-1.1"
for pair in $want_versions; do
    pkg="${pair%%=*}" want="${pair#*=}"
    have="$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)"
    if [[ $have != "$want" ]]; then
        echo "make-profile: warning: $pkg is ${have:-not installed}, the shipped profile used $want" >&2
    fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$ti3" "$work/FOGRA39L.ti3"

# -qm        medium quality A2B and B2A tables (B2A is what RGB->CMYK conversions use)
# -kr        black generation: ramp K from paper white to full black (ArgyllCMS default)
# -l300      total ink limit 300 %, suited to coated stock
# -s sRGB    gamut-map the perceptual B2A table from the sRGB gamut, so perceptual
#            differs from relative colorimetric for RGB artwork
(
    cd "$work"
    colprof -v -qm -kr -l300 -s "$srgb" \
        -D "$description" -C "$copyright" \
        -O FOGRA39-booklet.icc FOGRA39L
)

# ICC header bytes 24-35: creation date and time, six big-endian 16-bit numbers.
date_bytes=""
for n in "${header_date[@]}"; do
    date_bytes+="$(printf '\\x%02x\\x%02x' $((n >> 8)) $((n & 255)))"
done
printf "$date_bytes" | dd of="$work/FOGRA39-booklet.icc" bs=1 seek=24 count=12 conv=notrunc status=none

mkdir -p "$(dirname "$out")"
cp "$work/FOGRA39-booklet.icc" "$out"
echo "make-profile: wrote $out ($(wc -c <"$out") bytes)"
