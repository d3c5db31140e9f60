/**
 * Part `consistency` of `npm run bench -- imap`: the randomized multi-session consistency check
 * of test/e2e/imap-consistency.test.ts (test/helpers/imap-consistency.ts) for minutes instead of
 * seconds, on mailbox and on the Dovecot peer in turn (Dovecot's 0 violations check the model
 * itself). Prints operations done, untagged responses checked and violations (must be 0).
 * BENCH_IMAP_CONSISTENCY_SECONDS (default 120) sets the length of each run,
 * BENCH_IMAP_CONSISTENCY_SEED the workload (default: a new seed, printed).
 */
import {runConsistency} from '../test/helpers/imap-consistency.js'
import {rate, report} from './util.js'

const SECONDS = Number(process.env.BENCH_IMAP_CONSISTENCY_SECONDS ?? 120)
const SEED = Number(process.env.BENCH_IMAP_CONSISTENCY_SEED ?? Math.floor(Math.random() * 2 ** 31))

export interface ConsistencyTarget {
  name: string
  port: number
  user: string
  password: string
}

export async function benchConsistency(targets: ConsistencyTarget[]): Promise<void> {
  for (const t of targets) {
    const r = await runConsistency({port: t.port, user: t.user, password: t.password, seed: SEED, durationMs: SECONDS * 1000})
    report(`consistency-${t.name}`, `consistency on ${t.name}: 5 sessions (1 read-only, 2 CONDSTORE) on 3 folders for ${SECONDS} s, seed ${SEED}`, {
      operations: `${r.operations} (${rate(r.operations, SECONDS * 1000)}/s, with think times)`,
      'responses checked': r.responses,
      'keywords brought in': r.keywords,
      violations: r.violationCount ? `${r.violationCount}  MUST BE 0 (first ones below)` : '0 (must be 0)',
    })
    for (const v of r.violations.slice(0, 10)) console.log(`      ${v}`)
  }
}
