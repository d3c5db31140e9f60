/**
 * CLI start-up: wall time of `mailbox --version` and `mailbox user list` (BENCH_CLI_USERS, 100
 * users) from the single executable (out/, built by `npm run package` when missing or stale) and
 * from `bin/mailbox` on this host's Node, against `node -e 0` in the same run (and, for scale, the
 * binary's own Node 24 doing `-e 0`). Then `mailbox user add` from the binary against one argon2
 * hash with the same parameters (HASH_OPTIONS) in this process: the issue wants `user add`
 * dominated by the hash, i.e. start-up and store small beside it. Each figure is the
 * median of RUNS runs after WARM ones (the first binary start also fills its add-on cache), the
 * commands taking turns.
 */
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import argon2 from 'argon2'
import {runtimeNode, singleExecutable} from '../scripts/package/locate.js'
import {HASH_OPTIONS} from '../src/auth/password.js'
import {fig, higher, lower, report, tempDir, timed} from './util.js'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(REPO, 'bin', 'mailbox')
const NODE24 = runtimeNode(REPO)
const USERS = Number(process.env.BENCH_CLI_USERS ?? 100)
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 15)
const WARM = 2
const TARGET_MS = 120

function wallMs(file: string, args: string[], env: NodeJS.ProcessEnv, input?: string): number {
  const start = process.hrtime.bigint()
  const r = spawnSync(file, args, {env, input, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'], encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}

const middle = (runs: number[]) => runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)]!

/**
 * The median wall time of each command, run round-robin (one of each, RUNS times) after WARM
 * rounds: on a shared machine a burst of load then slows every command alike, and the ratios
 * against `node -e 0` hold (one block of runs per command made them swing by a third).
 */
function medians<K extends string>(commands: Record<K, [string, string[]]>, env: NodeJS.ProcessEnv): Record<K, number> {
  const entries = Object.entries(commands) as [K, [string, string[]]][]
  const runs = new Map<K, number[]>(entries.map(([k]) => [k, []]))
  for (let round = 0; round < WARM + RUNS; round++) {
    for (const [k, [file, args]] of entries) {
      const ms = wallMs(file, args, env)
      if (round >= WARM) runs.get(k)!.push(ms)
    }
  }
  return Object.fromEntries(entries.map(([k]) => [k, middle(runs.get(k)!)])) as Record<K, number>
}

/** `user add` of a new user each run (the password on stdin) vs one argon2 hash here, alternated so load drifts hit both alike */
async function userAddVsHash(sea: string, dataDir: string, env: NodeJS.ProcessEnv): Promise<{add: number; hash: number}> {
  const add = (i: number) => wallMs(sea, ['user', 'add', `added${i}@bench.test`, '--password-stdin', '--data-dir', dataDir], env, `password-${i}\n`)
  const hash = async (i: number) => (await timed(() => argon2.hash(`password-${i}`, HASH_OPTIONS))).ms
  for (let i = 0; i < WARM; i++) {
    add(-1 - i)
    await hash(-1 - i)
  }
  const adds: number[] = []
  const hashes: number[] = []
  for (let i = 0; i < RUNS; i++) {
    adds.push(add(i))
    hashes.push(await hash(i))
  }
  return {add: middle(adds), hash: middle(hashes)}
}

export async function benchCli(): Promise<void> {
  const sea = singleExecutable(REPO, 300_000)
  const {dir, cleanup} = tempDir()
  try {
    const dataDir = join(dir, 'data')
    const env = {...process.env, NO_COLOR: '1', XDG_CACHE_HOME: join(dir, 'cache')}
    // the users: one import of a precomputed hash (the benchmark is about start-up, not argon2)
    const hash = await argon2.hash('bench-password', {type: argon2.argon2id})
    const csv = join(dir, 'users.csv')
    writeFileSync(csv, 'address,password_hash\n' + Array.from({length: USERS}, (_, i) => `user${i}@bench.test,"${hash}"\n`).join(''))
    wallMs(sea, ['domain', 'add', 'bench.test', '--data-dir', dataDir], env)
    wallMs(sea, ['user', 'import', csv, '--data-dir', dataDir], env)
    const list = ['user', 'list', '--data-dir', dataDir]

    const {reference, node24, ...figures} = medians(
      {
        reference: [process.execPath, ['-e', '0']],
        // the floor of the binary: its own runtime doing nothing (installed by the build)
        node24: [NODE24, ['-e', '0']],
        seaVersion: [sea, ['--version']],
        seaList: [sea, list],
        nodeVersion: [process.execPath, [BIN, '--version']],
        nodeList: [process.execPath, [BIN, ...list]],
      },
      env,
    )
    const userAdd = await userAddVsHash(sea, dataDir, env)
    const row = (ms: number) => fig(ms, 'ms', `(${(ms / reference).toFixed(2)}x node -e 0)${ms < TARGET_MS ? '' : `  over the ${TARGET_MS} ms target`}`, 0)
    report('startup', `CLI start-up, wall time, median of ${RUNS}; ${USERS} users; single executable on Node 24 vs bin/mailbox on ${process.version}`, {
      [`reference: node -e 0 (${process.version})`]: fig(reference, 'ms', '', 0),
      'Node 24 of the binary: node -e 0': fig(node24, 'ms', `(${(node24 / reference).toFixed(2)}x node -e 0)`, 0),
      'binary: mailbox --version': row(figures.seaVersion),
      [`binary: mailbox user list (${USERS})`]: row(figures.seaList),
      'bin/mailbox --version': row(figures.nodeVersion),
      [`bin/mailbox user list (${USERS})`]: row(figures.nodeList),
      [`argon2id hash, m=${HASH_OPTIONS.memoryCost} t=${HASH_OPTIONS.timeCost} p=${HASH_OPTIONS.parallelism}`]: fig(userAdd.hash, 'ms', '(in this process)', 0),
      'binary: mailbox user add': fig(userAdd.add, 'ms', `(the hash is ${((100 * userAdd.hash) / userAdd.add).toFixed(0)}% of it; the rest ${(userAdd.add - userAdd.hash).toFixed(0)} ms)`, 0),
      'ratio binary --version / node -e 0': lower(figures.seaVersion / reference),
      'ratio binary user list / node -e 0': lower(figures.seaList / reference),
      'ratio bin/mailbox user list / node -e 0': lower(figures.nodeList / reference),
      'ratio argon2id hash / binary user add': higher(userAdd.hash / userAdd.add),
    })
  } finally {
    cleanup()
  }
}
