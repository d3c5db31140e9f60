/**
 * `mailbox import` speed against SMTP ingest, in the same run: N messages of SIZE bytes (env
 * BENCH_IMPORT_MESSAGES, default 5000, the issue's figure is 100000; BENCH_SIZE as bench/smtp.ts,
 * default 10 KiB) from one mbox file into a fresh user by the real `bin/mailbox import`
 * (start-up included), then the same count and size through `mailbox serve`'s SMTP by the load
 * generator of bench/smtp.ts (durable: 250 after the commit). The issue asks import ≥ 0.5× SMTP.
 */
import {spawnSync} from 'node:child_process'
import {closeSync, openSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {openStore} from '../src/store/store.js'
import {cli} from './serve.js'
import {loadGenerator, mailboxIngest} from './smtp.js'
import {fig, higher, report, tempDir, timed} from './util.js'

const MESSAGES = Number(process.env.BENCH_IMPORT_MESSAGES ?? 5000)
const SIZE = Number(process.env.BENCH_SIZE ?? 10240)
const BIN = fileURLToPath(new URL('../bin/mailbox', import.meta.url))

/** an mbox of `n` distinct messages of about SIZE bytes, written a message at a time */
function writeMbox(path: string, n: number): void {
  const fd = openSync(path, 'w')
  const body = 'x'.repeat(SIZE - 160).replace(/(.{76})/g, '$1\n')
  for (let i = 0; i < n; i++) {
    writeSync(fd, `From a@example.net Mon Jan  4 10:00:00 2021\nFrom: a@example.net\nTo: alice@example.test\nMessage-ID: <bench${i}@example.net>\nSubject: bench ${i}\n\n${body}\n\n`)
  }
  closeSync(fd)
}

export async function benchImport(): Promise<void> {
  const {dir, cleanup} = tempDir()
  try {
    const mbox = join(dir, 'bench.mbox')
    writeMbox(mbox, MESSAGES)
    const dataDir = join(dir, 'import')
    cli(['domain', 'add', 'example.test', '--data-dir', dataDir])
    cli(['user', 'add', 'alice@example.test', '--password-stdin', '--data-dir', dataDir], 'pw\n')
    const importOnce = () =>
      timed(() => {
        const r = spawnSync(process.execPath, [BIN, 'import', 'alice@example.test', mbox, '--data-dir', dataDir, '--json'], {encoding: 'utf8', maxBuffer: 64 * 1024 * 1024})
        if (r.status !== 0) throw new Error(`mailbox import: ${r.stderr}`)
        return JSON.parse(r.stdout) as {imported: number; duplicates: number}
      })
    const {ms} = await importOnce()
    // the rerun finds every message there already: each stored one read and hashed once
    const rerun = await importOnce()
    if (rerun.result.duplicates !== MESSAGES) throw new Error(`the rerun skipped ${rerun.result.duplicates} messages, expected ${MESSAGES}`)
    const store = openStore(dataDir, {readOnly: true})
    const held = store.mailboxes.get(['alice@example.test', 'INBOX'])?.messages
    await store.close()
    if (held !== MESSAGES) throw new Error(`import stored ${held} messages, expected ${MESSAGES}`)
    const imported = MESSAGES / (ms / 1000)

    const {generator, load} = loadGenerator()
    const {rate: smtp} = await mailboxIngest(join(dir, 'smtp'), (port, n, to) => load(port, n, to), [], MESSAGES)
    report('import', `import of ${MESSAGES} messages of ${SIZE} B from one mbox file vs SMTP ingest of as many`, {
      'mailbox import (CLI, start-up included)': fig(imported, 'msgs/s', '', 0),
      'reference: SMTP ingest': fig(smtp, 'msgs/s', `(${generator})`, 0),
      'ratio import / SMTP': higher(imported / smtp, {goal: 0.5}),
      'rerun of the import (all skipped)': fig(MESSAGES / (rerun.ms / 1000), 'msgs/s', '', 0),
    })
  } finally {
    cleanup()
  }
}
