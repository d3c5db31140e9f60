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
import {appendRecords, compare, finishBench, formatComparison, newRunId, noteLoad, readRecords, RECORD_FILE, startBench} from './record.js'
import {benchRetention} from './retention.js'
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
}

const args = process.argv.slice(2)
const at = args.indexOf('--compare')
const before = (at < 0 ? args : args.slice(0, at)).filter((a) => !a.startsWith('-'))
const after = at < 0 ? [] : args.slice(at + 1).filter((a) => !a.startsWith('-'))
const record = !args.includes('--no-record') && !process.env.BENCH_NO_RECORD
const toRun = at >= 0 && !before.length ? [] : before.length ? before : Object.keys(benches)
for (const name of [...toRun, ...after]) {
  if (!benches[name]) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(benches).join(', ')}`)
    process.exit(2)
  }
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

if (at >= 0) {
  const rows = compare(readRecords(), after.length ? after : toRun)
  process.stdout.write(formatComparison(rows))
  if (rows.some((c) => c.slipped)) process.exitCode = 1
}
