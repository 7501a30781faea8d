#!/bin/sh
# Memory flatness (issue 3): the real CLI on 10k and on 200k builds with the same
# cache capacity. Prints each run's peak RSS, peak live builds and builds/s, the
# RSS ratio, and the live-build bound with what pins builds beyond the caches.
#
# usage: bench/memory_flatness.sh [path/to/buildhist]
#   (default: build-release/src/cli/buildhist next to this script's directory)
# Environment: SMALL_BUILDS (1000), LARGE_BUILDS (20000), BUILDERS (10), CACHE (64),
#   THREADS (2): builds per builder of the two runs, and the rest of the shape.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/build-release/src/cli/buildhist}
small=${SMALL_BUILDS:-1000}
large=${LARGE_BUILDS:-20000}
builders=${BUILDERS:-10}
cache=${CACHE:-64}
threads=${THREADS:-2}

if [ ! -x "$bin" ]; then
  echo "memory_flatness: no buildhist binary at $bin" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/memory_flatness.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

echo "memory_flatness: $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), load average $(cut -d' ' -f1 /proc/loadavg)"
echo "binary: $bin"

run() {
  builds=$1
  out=$work/run-$builds.json
  "$bin" simulate --db "$work/store-$builds.db" --builders "$builders" --builds "$builds" \
    --log-lines 2 --cache "$cache" --threads "$threads" --json > "$out" 2> "$work/run-$builds.err" || {
    echo "memory_flatness: simulate --builds $builds failed:" >&2
    cat "$work/run-$builds.err" >&2
    exit 1
  }
  # The store's files as the writer left them, before they are removed.
  db_bytes=$(stat -c %s "$work/store-$builds.db" 2>/dev/null || echo 0)
  wal_bytes=$(stat -c %s "$work/store-$builds.db-wal" 2>/dev/null || echo 0)
  echo "{\"db_bytes\": $db_bytes, \"wal_bytes\": $wal_bytes}" > "$work/files-$builds.json"
  rm -f "$work/store-$builds.db" "$work/store-$builds.db-wal" "$work/store-$builds.db-shm"
}

run "$small"
run "$large"

python3 - "$work" "$small" "$large" "$builders" "$cache" "$threads" <<'EOF'
import json, math, sys

work, small, large, builders, cache, threads = sys.argv[1], *map(int, sys.argv[2:])
# Writes in flight pin their builds until committed (src/write_queue.cc): the queue
# holds up to 2 x max_batch writes before submit() blocks (plus the unit being
# submitted by each master), and the batch being committed, up to max_batch more,
# keeps its pins until its commit returns. Options::max_batch = 5000 by default.
max_batch = 5000
queue_writes = 3 * max_batch

runs = {}
for builds in (small, large):
    with open(f"{work}/run-{builds}.json") as f:
        figures = json.load(f)
    with open(f"{work}/files-{builds}.json") as f:
        figures.update(json.load(f))
    runs[builds] = figures

print(f"shape: --builders {builders} --log-lines 2 --cache {cache} --threads {threads}")
print(f"{'run':>22} {'peak_rss_mib':>13} {'peak_live_builds':>17} {'builds/s':>10} "
      f"{'live at end':>12} {'evictions':>10} {'db MiB':>8} {'WAL MiB':>8}")
for builds, r in runs.items():
    print(f"{'--builds ' + str(builds) + ' (' + str(int(r['builds'])) + ')':>22} "
          f"{r['peak_rss_mib']:13.1f} {r['peak_live_builds']:17d} {r['builds_per_s']:10.0f} "
          f"{r['live_builds']:12d} {r['evictions']:10d} {r['db_bytes'] / 2**20:8.1f} "
          f"{r['wal_bytes'] / 2**20:8.1f}")

ratio = runs[large]["peak_rss_mib"] / runs[small]["peak_rss_mib"]
print(f"peak RSS ratio {large} / {small} builds per builder: {ratio:.3f} "
      f"(target <= 1.10: {'met' if ratio <= 1.10 else 'MISSED'})")

capacity = cache * builders
peak = max(r["peak_live_builds"] for r in runs.values())
writes_per_build = runs[large]["writes"] / runs[large]["builds"]
in_flight = math.ceil(queue_writes / writes_per_build) + threads  # + a partial build per master
print(f"live builds: peak {peak}; cache capacity x builders = {capacity}; "
      f"held by master threads <= {threads}")
print(f"  peak <= capacity x builders + master-held ({capacity + threads}): "
      f"{'yes' if peak <= capacity + threads else 'NO'}")
print(f"  builds pinned by writes in flight: about (2 queued + 1 committing) x {max_batch} = "
      f"{queue_writes} writes / {writes_per_build:.1f} writes per build = {in_flight} builds; "
      f"peak <= {capacity + threads + in_flight} with them: "
      f"{'yes' if peak <= capacity + threads + in_flight else 'NO'}")
print("  (peak_live_builds is sampled every 50 ms by simulate's monitor, not at every change)")
EOF
