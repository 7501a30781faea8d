#!/usr/bin/env bash
# import-buildbot's speed and the sizes it ends with: a buildbot database holding
# the reference workload's shape, written by buildbot 3.7's own DB code
# (tests/fixtures/buildbot/buildbot_db.py workload), imported into an empty store,
# then `buildhist compact`.
#
#   bench/transfer_bench.sh BUILDHIST_BINARY [BUILDERS] [BUILDS] [DIR]
#
# Prints builds/s, MB/s of log text, and the bytes of buildbot's database against
# the store's before and after compact, and against buildbot's own maintenance:
# `buildbot cleanupdb --force` (every log's chunks gathered and recompressed with
# the master's logCompressionMethod, then VACUUM) with each method buildbot 3.7
# has (gz, bz2, lz4), on copies of the same database. Writing the buildbot
# database is slow (buildbot's code commits every append): about 0.3 s a build
# on a small VM.
set -euo pipefail
bin=$1
builders=${2:-10}
builds=${3:-30}
dir=${4:-$(mktemp -d)}
mkdir -p "$dir"
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

# buildbot's cleanupdb reads the master's configuration: a basedir with a
# buildbot.tac and a master.cfg naming the database and the compression.
cleanupdb() {
  local method=$1 base=$dir/cleanupdb-$1
  rm -rf "$base"
  mkdir -p "$base"
  cp "$bb" "$base/state.sqlite"
  cat >"$base/buildbot.tac" <<'TAC'
import os
from twisted.application import service
from buildbot.master import BuildMaster
basedir = os.path.abspath(os.path.dirname(__file__))
application = service.Application('buildmaster')
BuildMaster(basedir, 'master.cfg').setServiceParent(application)
TAC
  # cleanupdb loads the whole configuration, so it must be a valid one: a worker
  # (and the protocol it would use), a builder and a scheduler, none of them run.
  cat >"$base/master.cfg" <<CFG
from buildbot.plugins import schedulers, util, worker
BuildmasterConfig = {
    'db': {'db_url': 'sqlite:///state.sqlite'},
    'logCompressionMethod': '$method',
    'workers': [worker.Worker('w', 'unused')],
    'protocols': {'pb': {'port': 'unix:path=unused.sock'}},
    'builders': [util.BuilderConfig(name='b', workernames=['w'], factory=util.BuildFactory())],
    'schedulers': [schedulers.ForceScheduler(name='force', builderNames=['b'])],
    'buildbotNetUsageData': None,
}
CFG
  local start end
  start=$(date +%s%N)
  buildbot cleanupdb --force "$base" >"$base/cleanupdb.log" || { cat "$base/cleanupdb.log"; exit 1; }
  end=$(date +%s%N)
  echo "buildbot cleanupdb --force, $method: $(size "$base/state.sqlite") bytes" \
       "($(( (end - start) / 1000000 )) ms)"
  rm -rf "$base"
}
for method in gz bz2 lz4; do cleanupdb "$method"; done
