#!/usr/bin/env bash
# import-buildbot's speed and the sizes it ends with: a buildbot database holding
# the reference workload's shape, written by buildbot 3.7's own DB code
# (tests/fixtures/buildbot/buildbot_db.py workload), imported into an empty store,
# then `buildhist compact`.
#
#   bench/transfer_bench.sh BUILDHIST_BINARY [BUILDERS] [BUILDS] [DIR]
#
# Prints builds/s, MB/s of log text, and the bytes of buildbot's database against
# the store's before and after compact. Writing the buildbot database is slow
# (buildbot's code commits every append): about 0.3 s a build on a small VM.
set -euo pipefail
bin=$1
builders=${2:-10}
builds=${3:-30}
dir=${4:-$(mktemp -d)}
here=$(cd "$(dirname "$0")/.." && pwd)
bb=$dir/buildbot-$builders-$builds.sqlite
store=$dir/store.db
if [[ ! -f $bb ]]; then
  /usr/bin/python3 "$here/tests/fixtures/buildbot/buildbot_db.py" workload "$bb.tmp" "$builders" "$builds"
  mv "$bb.tmp" "$bb"
fi
rm -f "$store" "$store-wal" "$store-shm"
summary=$("$bin" --db "$store" --json import-buildbot "$bb")
echo "import: $summary"
python3 - "$summary" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
print("import-buildbot: %d builds in %.2f s: %.0f builds/s, %.1f MB/s of log text (%d bytes)"
      % (s["builds"], s["seconds"], s["builds"] / s["seconds"], s["bytes"] / 1e6 / s["seconds"], s["bytes"]))
PY
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
store_bytes() { echo $(( $(size "$store") + $(size "$store-wal") )); }
echo "buildbot database: $(size "$bb") bytes"
echo "store after import: $(store_bytes) bytes"
"$bin" --db "$store" compact >/dev/null
echo "store after compact: $(store_bytes) bytes"
