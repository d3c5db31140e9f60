/**
 * `npm run bench [-- NAME…] [--compare [NAME…]] [--no-record]`: runs the named benchmarks (all
 * by default) and prints, for each, what was measured, on what workload, and the ratio against a
 * reference measured in the same run — absolute figures drift on shared machines, ratios much
 * less. Each run's figures are appended to bench/results/records.jsonl (not with
 * `--no-record` or BENCH_NO_RECORD=1); `--compare` then sets every ratio of the latest record
 * beside the previous one and exits 1 when one slipped more than 20 %. Names before
 * `--compare` are run; names after it only compared; `--compare` alone runs nothing.
 */
import {benchBackup} from './backup.js'
import {benchCli} from './cli.js'
import {benchCluster} from './cluster.js'
import {benchFoundation} from './foundation.js'
import {benchImap} from './imap.js'
import {benchImport} from './import.js'
import {benchOutbound} from './outbound.js'
import {benchPop3} from './pop3.js'
import {appendRecords, benchArgs, compare, finishBench, formatComparison, newRunId, noteLoad, readRecords, RECORD_FILE, startBench} from './record.js'
import {benchRetention} from './retention.js'
import {benchSieve} from './sieve.js'
import {benchSmtp} from './smtp.js'
import {benchUsers} from './users.js'

const benches: Record<string, () => Promise<void>> = {
  foundation: benchFoundation,
  smtp: benchSmtp,
  outbound: benchOutbound,
  pop3: benchPop3,
  imap: benchImap,
  users: benchUsers,
  cli: benchCli,
  import: benchImport,
  cluster: benchCluster,
  retention: benchRetention,
  backup: benchBackup,
  sieve: benchSieve,
}

const {run: toRun, compare: toCompare, record, unknown} = benchArgs(process.argv.slice(2), process.env, Object.keys(benches))
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`)
  process.exit(2)
}

const run = newRunId()
for (const name of toRun) {
  console.log(`\n== ${name}`)
  noteLoad()
  startBench(name)
  await benches[name]!()
  // written bench by bench: a later failure keeps what finished
  const lines = finishBench(run)
  if (record) appendRecords(lines)
}
if (toRun.length && record) console.log(`\nrecorded in ${RECORD_FILE}`)

if (toCompare) {
  const rows = compare(readRecords(), toCompare)
  process.stdout.write(formatComparison(rows))
  if (rows.some((c) => c.slipped)) process.exitCode = 1
}
