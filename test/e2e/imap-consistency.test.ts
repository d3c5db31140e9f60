/**
 * The randomized multi-session consistency check (test/helpers/imap-consistency.ts) against a
 * real `serve`: five sessions of one user (one read-only, two with CONDSTORE) on three folders
 * for CONSISTENCY_SECONDS (default 8) with a seed from CONSISTENCY_SEED (default: a new one each
 * run, printed with any violation so the workload can be run again). `npm run bench -- imap`
 * runs the same for minutes (part `consistency`).
 */
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runConsistency} from '../helpers/imap-consistency.js'
import {startImapServer, type ImapServer} from './imap-helpers.js'

const SEED = Number(process.env.CONSISTENCY_SEED ?? Math.floor(Math.random() * 2 ** 31))
const SECONDS = Number(process.env.CONSISTENCY_SECONDS ?? 8)
const alice = {address: 'alice@example.test', password: 'alice-pw'}

let server: ImapServer

beforeAll(async () => {
  server = await startImapServer({users: [alice]})
}, 30_000)

afterAll(async () => {
  await server?.stop()
})

it(`five sessions on three folders for ${SECONDS} s: every untagged response agrees with what each session was told (seed ${SEED})`, async () => {
  const result = await runConsistency({port: server.ports.imap, user: alice.address, password: alice.password, seed: SEED, durationMs: SECONDS * 1000})
  const summary = `seed ${SEED} (CONSISTENCY_SEED=${SEED} runs the same workload): ${result.operations} operations, ${result.responses} responses, ${result.violationCount} violations`
  expect(result.violations, summary).toEqual([])
  // the run did something of each kind
  expect(result.operations, summary).toBeGreaterThan(100)
  for (const kind of ['store', 'store silent', 'uid store', 'append', 'copy', 'move', 'expunge', 'fetch', 'idle', 'noop']) expect(result.byKind[kind], `${kind}: ${summary}`).toBeGreaterThan(0)
}, 60_000 + SECONDS * 1000)
