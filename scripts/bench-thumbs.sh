#!/usr/bin/env bash
# Thumbnails per second and SSIM of thumbs against vipsthumbnail (Debian libvips-tools),
# sharp (npm) and Pillow-SIMD with draft() (PyPI pillow-simd), on the same photos, q80
# JPEG out, 256 and 1024 px wide, on one thread and on two processes; each figure is
# the median of three runs. A tool that is not installed is skipped with a note.
#
#   ../shared/bench/get-photos.sh /tmp/photos      # the corpus: 25 real photos, 8-20 MP
#   scripts/bench-thumbs.sh /tmp/photos/jpeg
#
# SSIM is taken on luma against a Lanczos3 resize of the fully decoded image (thumbs bench
# --compare), so every tool is scored against the same reference.
set -euo pipefail
cd "$(dirname "$0")/.."
PHOTOS=${1:?usage: scripts/bench-thumbs.sh PHOTO_DIR}
WORK=${BENCH_WORK:-/tmp/thumbs-bench}
NODE_DIR=${SHARP_DIR:-/tmp/cmp}          # where `npm install sharp` was run
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vigil-target}"
cargo build --release -q -p thumbs
THUMBS="$CARGO_TARGET_DIR/release/thumbs"
mkdir -p "$WORK"
mapfile -t FILES < <(ls "$PHOTOS"/*.jpg | sort)
N=${#FILES[@]}
HALF=$(( (N + 1) / 2 ))

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run_tool NAME WIDTH PROCS COMMAND... — COMMAND gets OUTDIR and files appended and prints
# the seconds its own loop took (start-up of an interpreter is not counted); with two
# processes the slower one's time counts.
run_tool() {
  local name=$1 width=$2 procs=$3; shift 3
  local out="$WORK/$name-$width"; mkdir -p "$out"
  local rates=()
  for _ in 1 2 3; do
    local seconds
    if [ "$procs" = 1 ]; then
      seconds=$("$@" "$out" "${FILES[@]}")
    else
      seconds=$( { "$@" "$out" "${FILES[@]:0:$HALF}" & "$@" "$out" "${FILES[@]:$HALF}" & wait; } | sort -g | tail -1)
    fi
    rates+=("$(awk -v n="$N" -v s="$seconds" 'BEGIN {printf "%.1f", n / s}')")
  done
  printf '%s\n' "${rates[@]}" | median
}

vips_cmd() {
  local w=$1 out=$2; shift 2
  local start end; start=$(now)
  VIPS_CONCURRENCY=1 vipsthumbnail -s "${w}x" -o "$out/%s.jpg[Q=80,strip]" "$@"
  end=$(now); awk -v s="$start" -v e="$end" 'BEGIN {print e - s}'
}
sharp_cmd() {
  local w=$1 out=$2; shift 2
  UV_THREADPOOL_SIZE=1 NODE_PATH="$NODE_DIR/node_modules" node -e '
    const sharp = require("sharp"); sharp.concurrency(1); sharp.cache(false);
    const [w, out, ...files] = process.argv.slice(1);
    (async () => { const start = process.hrtime.bigint(); for (const f of files) {
      const name = f.split("/").pop().replace(/\.[^.]+$/, "");
      await sharp(f).rotate().resize({ width: +w }).jpeg({ quality: 80 }).toFile(`${out}/${name}.jpg`);
    } console.log(Number(process.hrtime.bigint() - start) / 1e9); })();' "$w" "$out" "$@"
}
pillow_cmd() {
  local w=$1 out=$2; shift 2
  python3 -c '
import sys, os, time
from PIL import Image, ImageOps
w, out, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
start = time.perf_counter()
for f in files:
    im = Image.open(f)
    h = max(1, round(im.height * w / im.width))
    im.draft("RGB", (w, h))
    im = ImageOps.exif_transpose(im).convert("RGB")
    h = max(1, round(im.height * w / im.width))
    im.resize((w, h), Image.LANCZOS).save(os.path.join(out, os.path.splitext(os.path.basename(f))[0] + ".jpg"), quality=80)
print(time.perf_counter() - start)
' "$w" "$out" "$@"
}

echo "thumbnails of $N photos from $PHOTOS, q80 JPEG; images/s, median of 3 runs ($(nproc) cores)"
printf '%-14s %6s %10s %10s\n' tool width "1 thread" "2 procs"
for width in 256 1024; do
  for tool in thumbs vips sharp pillow; do
    case $tool in
      thumbs)
        one=$("$THUMBS" bench "$PHOTOS" --width "$width" --threads 1 --rounds 3 --out "$WORK/thumbs-$width" 2>/dev/null | awk '/images\/s/ {print $1}')
        two=$("$THUMBS" bench "$PHOTOS" --width "$width" --threads 2 --rounds 3 2>/dev/null | awk '/images\/s/ {print $1}') ;;
      vips)   command -v vipsthumbnail >/dev/null || { echo "vipsthumbnail not installed (apt-get install libvips-tools)"; continue; }
              one=$(run_tool vips "$width" 1 vips_cmd "$width"); two=$(run_tool vips "$width" 2 vips_cmd "$width") ;;
      sharp)  [ -d "$NODE_DIR/node_modules/sharp" ] || { echo "sharp not installed (npm install sharp in $NODE_DIR)"; continue; }
              one=$(run_tool sharp "$width" 1 sharp_cmd "$width"); two=$(run_tool sharp "$width" 2 sharp_cmd "$width") ;;
      pillow) python3 -c 'import PIL' 2>/dev/null || { echo "Pillow-SIMD not installed (pip install pillow-simd)"; continue; }
              one=$(run_tool pillow "$width" 1 pillow_cmd "$width"); two=$(run_tool pillow "$width" 2 pillow_cmd "$width") ;;
    esac
    printf '%-14s %6s %10s %10s\n' "$tool" "$width" "$one" "$two"
  done
  compare=()
  for tool in vips sharp pillow; do [ -d "$WORK/$tool-$width" ] && compare+=(--compare "$WORK/$tool-$width"); done
  "$THUMBS" bench "$PHOTOS" --width "$width" --rounds 1 --ssim "${compare[@]}" 2>/dev/null | grep SSIM
done
echo "peak RSS of thumbs (1 thread, 1024 px): $("$THUMBS" bench "$PHOTOS" --width 1024 --rounds 1 2>/dev/null | grep -o 'peak RSS [0-9]* MB (of which [0-9]* MB are the inputs')), held in memory)"
