/**
 * The randomized multi-session consistency check (test/helpers/imap-consistency.ts) against a
 * real `serve`: five sessions of one user (one read-only, two with CONDSTORE) on three folders
 * for CONSISTENCY_SECONDS (default 8) with a seed from CONSISTENCY_SEED (default: a new one each
 * run, printed with any violation so the workload can be run again). `npm run bench -- imap`
 * runs the same for minutes (part `consistency`). Histories the random run found are replayed
 * below in a fixed order, so each stays checked whatever the machine's interleaving.
 */
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runConsistency, scripted} from '../helpers/imap-consistency.js'
import {RawImap, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'

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

// seed 709284550 found it (1 run in 3): a's STORE reached a message b had moved away, which a
// was not told about yet; the server stored nothing and sent no FETCH for it (RFC 2180 §4.2), so
// the keyword was never in the folder, and the FLAGS that came before the EXPUNGE rightly lacks it
it('a non-.SILENT STORE on a message another session expunged: the client knows only the flags it was told', async () => {
  const setup = await RawImap.login(server.ports.imap, alice)
  const box = 'ghoststore'
  try {
    expect((await setup.command(`CREATE ${box}`)).status).toBe('OK')
    for (let i = 0; i < 3; i++) expect((await setup.append(box, simpleMessage({subject: `m${i}`}))).status).toBe('OK')
  } finally {
    setup.close()
  }
  const {sessions, finish} = await scripted({port: server.ports.imap, user: alice.address, password: alice.password}, 2)
  const [a, b] = [sessions[0]!, sessions[1]!]
  await a.select(box)
  await b.select(box)
  await b.command(`MOVE 2 ${box}`)
  await a.store(2, 2, '+', ['$Ghost'])
  // a keyword new to the folder: a is sent FLAGS (without $Ghost) before the EXPUNGE of message 2
  await b.store(1, 1, '+', ['$Other'])
  await a.command('NOOP')
  expect(await finish([box])).toEqual([])
})
