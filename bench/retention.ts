/**
 * Capture retention under load (`npm run bench -- retention`): a `serve --capture` whose one
 * INBOX holds BENCH_RETENTION_MESSAGES (20,000) distinct ~1 KB messages prunes all but 10 of them
 * (100 per commit, src/capture/retention.ts) while another user's IMAP session sends NOOP every
 * 5 ms on its own thread (./noop-probe.ts). The NOOP round trips during the prune are compared
 * with those of the same session on the same server just before it (the reference), and the
 * prune's rate is printed.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {openStoreBackend} from '../src/store/open.js'
import {seedDistinctMessages} from '../test/helpers/seed.js'
import {imapNooper, p99} from './outbound.js'
import {cli, freePort, startServe} from './serve.js'
import {lower, report, tempDir} from './util.js'

const COUNT = Number(process.env.BENCH_RETENTION_MESSAGES ?? 20_000)
const KEEP = 10
const BATCH = Number(process.env.BENCH_RETENTION_BATCH ?? 100)
/** the prune's first run, after serve started: the reference series runs before it */
const FIRST_RUN_MS = 8_000
const PRUNED = 'pruned@bench.test'
const PROBE = 'probe@bench.test'

/** the INBOX's message count, read from the data dir's store beside the server */
async function inboxCount(dataDir: string): Promise<number> {
  const store = await openStoreBackend({dataDir, readOnly: true, create: false})
  try {
    return (await store.mail.folder(PRUNED, 'INBOX'))?.messages ?? 0
  } finally {
    await store.close()
  }
}

const max = (xs: number[]) => xs.reduce((m, x) => Math.max(m, x), 0)

export async function benchRetention(): Promise<void> {
  const {dir, cleanup} = tempDir()
  const dataDir = join(dir, 'data')
  const smtp = await freePort()
  const imap = await freePort()
  const config = join(dir, 'retention.json')
  writeFileSync(config, JSON.stringify({captureRetention: {maxMessages: KEEP, maxAgeMs: 0, batch: BATCH, intervalMs: FIRST_RUN_MS}}))
  cli(['domain', 'add', 'bench.test', '--data-dir', dataDir])
  for (const user of [PRUNED, PROBE]) cli(['user', 'add', user, '--password-stdin', '--data-dir', dataDir], 'pw\n')
  await seedDistinctMessages(dataDir, PRUNED, 'INBOX', COUNT, 1_000)
  const started = Date.now()
  const served = await startServe(dataDir, smtp, {users: []}, ['--capture', '--allow-insecure-auth', '--config', config, '--imap-port', String(imap)])
  const noops = await imapNooper(imap, PROBE)
  try {
    noops.start()
    await sleep(Math.max(1_000, started + FIRST_RUN_MS - 1_000 - Date.now()))
    const idle = await noops.stop()
    while ((await inboxCount(dataDir)) === COUNT) await sleep(20)
    const pruneStart = Date.now()
    noops.start()
    while ((await inboxCount(dataDir)) > KEEP) await sleep(20)
    const pruneMs = Date.now() - pruneStart
    const busy = await noops.stop()
    report('prune', `capture retention: ${(COUNT - KEEP).toLocaleString('en')} of ${COUNT.toLocaleString('en')} messages pruned, ${BATCH} per commit, another user's IMAP NOOP every 5 ms`, {
      'prune (from the first commit seen)': `${pruneMs} ms, ${Math.round(((COUNT - KEEP) / pruneMs) * 1000).toLocaleString('en')} msgs/s`,
      'NOOP idle (reference): p99 / max': `${p99(idle).toFixed(2)} / ${max(idle).toFixed(2)} ms (${idle.length} NOOPs)`,
      'NOOP during the prune: p99 / max': `${p99(busy).toFixed(2)} / ${max(busy).toFixed(2)} ms (${busy.length} NOOPs)`,
      'ratio NOOP p99 during / idle': lower(p99(busy) / p99(idle), {digits: 1}),
      'ratio NOOP max during / idle': lower(max(busy) / max(idle), {digits: 1}),
    })
  } finally {
    await noops.close()
    await served.stop()
    cleanup()
  }
}
