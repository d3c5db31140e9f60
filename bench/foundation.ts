/**
 * Foundation costs:
 * 1. `user add`: argon2id hashing dominates; compared with a bare argon2.hash of the same
 *    parameters (the store work on top should be noise), and the full CLI process for scale.
 * 2. Durable LMDB puts (10 KiB records, fsync per commit), one at a time and 100 per commit,
 *    against the machine's honest durable write rate: append 10 KiB + fdatasync to a plain file.
 */
import {spawnSync} from 'node:child_process'
import {closeSync, fdatasyncSync, openSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import argon2 from 'argon2'
import {HASH_OPTIONS} from '../src/auth/password.js'
import {addDomain} from '../src/directory/domains.js'
import {addUser} from '../src/directory/users.js'
import {openStore} from '../src/store/store.js'
import {fig, higher, lower, perSecond, report, tempDir, timed} from './util.js'

const USERS = 10
const PUTS = 2000
const RECORD = Buffer.alloc(10 * 1024, 'x')

export async function benchFoundation(): Promise<void> {
  const {dir, cleanup} = tempDir()
  try {
    await benchUserAdd(dir)
    await benchPuts(dir)
  } finally {
    cleanup()
  }
}

async function benchUserAdd(dir: string): Promise<void> {
  const store = openStore(join(dir, 'users'))
  await addDomain(store, 'bench.test')
  await argon2.hash('warm-up', HASH_OPTIONS)
  const raw = await timed(async () => {
    for (let i = 0; i < USERS; i++) await argon2.hash(`pw${i}`, HASH_OPTIONS)
  })
  const add = await timed(async () => {
    for (let i = 0; i < USERS; i++) await addUser(store, {address: `u${i}@bench.test`, password: `pw${i}`})
  })
  await store.close()
  const bin = fileURLToPath(new URL('../bin/mailbox', import.meta.url))
  const cli = await timed(() =>
    spawnSync(process.execPath, [bin, 'user', 'add', 'cli@bench.test', '--password-stdin', '--data-dir', join(dir, 'users')], {input: 'pw\n'}),
  )
  report('user-add', `user add, ${USERS} users, argon2id m=${HASH_OPTIONS.memoryCost} t=${HASH_OPTIONS.timeCost} p=${HASH_OPTIONS.parallelism}`, {
    'addUser (hash + store commit)': fig(add.ms / USERS, 'ms/user', '', 1),
    'reference: argon2.hash alone': fig(raw.ms / USERS, 'ms/hash', '', 1),
    'ratio addUser / bare hash': lower(add.ms / raw.ms),
    'whole CLI process (dist/, 1 user)': cli.result.status === 0 ? fig(cli.ms, 'ms', '', 0) : `failed: ${cli.result.stderr}`,
  })
}

async function benchPuts(dir: string): Promise<void> {
  const store = openStore(join(dir, 'puts'))
  const sequential = await timed(async () => {
    for (let i = 0; i < PUTS; i++) await store.blobs.put(`s${i}`, RECORD)
  })
  const batched = await timed(async () => {
    for (let i = 0; i < PUTS; i += 100) {
      await Promise.all(Array.from({length: 100}, (_, j) => store.blobs.put(`b${i + j}`, RECORD)))
    }
  })
  await store.close()
  const fd = openSync(join(dir, 'raw.log'), 'a')
  const raw = await timed(() => {
    for (let i = 0; i < PUTS; i++) {
      writeSync(fd, RECORD)
      fdatasyncSync(fd)
    }
  })
  closeSync(fd)
  report('puts', `durable puts, ${PUTS} x 10 KiB (fsync before each put resolves)`, {
    'LMDB await put, one per commit': fig(perSecond(PUTS, sequential.ms), 'puts/s', '', 0),
    'LMDB 100 concurrent puts per commit': fig(perSecond(PUTS, batched.ms), 'puts/s', '', 0),
    'reference: write + fdatasync a file': fig(perSecond(PUTS, raw.ms), 'writes/s', '', 0),
    'ratio LMDB single / raw fdatasync': higher(raw.ms / sequential.ms),
    'ratio LMDB batched / raw fdatasync': higher(raw.ms / batched.ms),
  })
}
