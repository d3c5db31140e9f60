/**
 * CLI start-up: wall time of `mailbox --version` and `mailbox user list` (BENCH_CLI_USERS, 100
 * users) from the single executable (out/, built by `npm run package` when missing or stale) and
 * from `bin/mailbox` on this host's Node, against `node -e 0` in the same run (and, for scale, the
 * binary's own Node 24 doing `-e 0`). Each figure is the
 * median of RUNS runs after WARM ones (the first binary start also fills its add-on cache).
 */
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import argon2 from 'argon2'
import {runtimeNode, singleExecutable} from '../scripts/package/locate.js'
import {report, tempDir} from './util.js'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(REPO, 'bin', 'mailbox')
const NODE24 = runtimeNode(REPO)
const USERS = Number(process.env.BENCH_CLI_USERS ?? 100)
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 15)
const WARM = 2
const TARGET_MS = 120

function wallMs(file: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint()
  const r = spawnSync(file, args, {env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}

function median(file: string, args: string[], env: NodeJS.ProcessEnv): number {
  for (let i = 0; i < WARM; i++) wallMs(file, args, env)
  const runs = Array.from({length: RUNS}, () => wallMs(file, args, env)).sort((a, b) => a - b)
  return runs[Math.floor(RUNS / 2)]!
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

    const reference = median(process.execPath, ['-e', '0'], env)
    // the floor of the binary: its own runtime doing nothing (installed by the build)
    const node24 = median(NODE24, ['-e', '0'], env)
    const figures = {
      seaVersion: median(sea, ['--version'], env),
      seaList: median(sea, list, env),
      nodeVersion: median(process.execPath, [BIN, '--version'], env),
      nodeList: median(process.execPath, [BIN, ...list], env),
    }
    const row = (ms: number) => `${ms.toFixed(0)} ms  (${(ms / reference).toFixed(2)}x node -e 0)${ms < TARGET_MS ? '' : `  over the ${TARGET_MS} ms target`}`
    report(`CLI start-up, wall time, median of ${RUNS}; ${USERS} users; single executable on Node 24 vs bin/mailbox on ${process.version}`, {
      [`reference: node -e 0 (${process.version})`]: `${reference.toFixed(0)} ms`,
      'Node 24 of the binary: node -e 0': `${node24.toFixed(0)} ms  (${(node24 / reference).toFixed(2)}x node -e 0)`,
      'binary: mailbox --version': row(figures.seaVersion),
      [`binary: mailbox user list (${USERS})`]: row(figures.seaList),
      'bin/mailbox --version': row(figures.nodeVersion),
      [`bin/mailbox user list (${USERS})`]: row(figures.nodeList),
    })
  } finally {
    cleanup()
  }
}
