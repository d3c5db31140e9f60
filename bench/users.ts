/**
 * `user import` of BENCH_USERS (1,000) users with passwords, through the real CLI (dist/),
 * against the reference measured in the same run: hashing as many passwords with the same
 * argon2id parameters as fast as the machine's cores allow (hashPasswords, one job per
 * thread-pool thread), in a node process of its own as the CLI has one. The ratio is what the import adds to the hashing it cannot
 * avoid: start-up, parsing, checking, one transaction. Half the reference runs before the import
 * and half after, so that a machine whose load changes meanwhile (a shared one) skews both
 * sides alike. For scale: one hash after another, and `user add` once a user (a process start
 * each), both scaled from a sample.
 */
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {availableParallelism, loadavg} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import argon2 from 'argon2'
import {HASH_OPTIONS} from '../src/auth/password.js'
import {addDomain} from '../src/directory/domains.js'
import {openStore} from '../src/store/store.js'
import {higher, lower, report, tempDir, timed} from './util.js'

/** even: the reference hashes half of them before the import and half after */
const USERS = 2 * Math.round(Number(process.env.BENCH_USERS ?? 1000) / 2)
const SAMPLE = 20
const CLI_SAMPLE = 3
const BIN = fileURLToPath(new URL('../bin/mailbox', import.meta.url))
const PASSWORD_MODULE = new URL('../dist/src/auth/password.js', import.meta.url).href

/**
 * The reference: `count` passwords hashed by hashPasswords (what the import uses) in a process of
 * its own, as the CLI runs in one; so both sides get the same share of a loaded machine.
 */
function hashInChild(count: number, tag: string): void {
  const script = `const {hashPasswords} = await import(${JSON.stringify(PASSWORD_MODULE)}); await hashPasswords(Array.from({length: ${count}}, (_, i) => '${tag}-' + i))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`reference hashing failed: ${r.stderr}`)
}

export async function benchUsers(): Promise<void> {
  const {dir, cleanup} = tempDir()
  try {
    const dataDir = join(dir, 'data')
    const store = openStore(dataDir)
    await addDomain(store, 'bench.test')
    await store.close()
    const file = join(dir, 'users.csv')
    writeFileSync(file, 'address,password,quota\n' + Array.from({length: USERS}, (_, i) => `user${i}@bench.test,password-${i},1G\n`).join(''))

    await argon2.hash('warm-up', HASH_OPTIONS)
    const load = [loadavg()[0]!]
    // the references are split around the import (half before, half after), so that a load
    // that changes during the run weighs on both sides alike
    const half = (tag: string) => timed(() => hashInChild(USERS / 2, tag))
    const oneByOne = () =>
      timed(async () => {
        for (let i = 0; i < SAMPLE / 2; i++) await argon2.hash(`one-by-one-${i}`, HASH_OPTIONS)
      })
    const [before, sequentialBefore] = [await half('before'), await oneByOne()]
    const cli = await timed(() => spawnSync(process.execPath, [BIN, 'user', 'import', file, '--json', '--data-dir', dataDir], {encoding: 'utf8'}))
    if (cli.result.status !== 0) throw new Error(`user import failed: ${cli.result.stderr}`)
    const summary = JSON.parse(cli.result.stdout) as {added: number; hashed: number}
    if (summary.added !== USERS || summary.hashed !== USERS) throw new Error(`user import added ${summary.added} of ${USERS}`)
    const [sequentialAfter, after] = [await oneByOne(), await half('after')]
    load.push(loadavg()[0]!)
    const reference = {ms: before.ms + after.ms}
    const sequential = {ms: sequentialBefore.ms + sequentialAfter.ms}
    const perProcess = await timed(() => {
      for (let i = 0; i < CLI_SAMPLE; i++) {
        const r = spawnSync(process.execPath, [BIN, 'user', 'add', `single${i}@bench.test`, '--password-stdin', '--data-dir', dataDir], {input: 'pw\n'})
        if (r.status !== 0) throw new Error(`user add failed: ${r.stderr}`)
      }
    })
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
    report('import', `user import, ${USERS} users with passwords, argon2id m=${HASH_OPTIONS.memoryCost} t=${HASH_OPTIONS.timeCost} p=${HASH_OPTIONS.parallelism}, ${availableParallelism()} cores, thread pool ${process.env.UV_THREADPOOL_SIZE ?? 4}`, {
      'user import (whole CLI process)': `${s(cli.ms)} (${(cli.ms / USERS).toFixed(1)} ms/user)`,
      'reference: hashPasswords, own process': `${s(reference.ms)} (${(reference.ms / USERS).toFixed(1)} ms/hash)`,
      'ratio import / reference': lower(cli.ms / reference.ms),
      [`hashes one by one (${SAMPLE}, scaled)`]: s((sequential.ms / SAMPLE) * USERS),
      'parallel speed-up vs one by one': higher(((sequential.ms / SAMPLE) * USERS) / reference.ms),
      [`user add per user (${CLI_SAMPLE}, scaled)`]: s((perProcess.ms / CLI_SAMPLE) * USERS),
      'load average (1 min) at start, end': load.map((l) => l.toFixed(1)).join(', '),
    })
  } finally {
    cleanup()
  }
}
