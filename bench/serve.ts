/** Benchmark helpers: a real `mailbox serve` (from dist/) on a temp data dir, and tool lookup. */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {createServer} from 'node:net'
export {freePort} from '../test/helpers/ports.js'
import {fileURLToPath} from 'node:url'

const BIN = fileURLToPath(new URL('../bin/mailbox', import.meta.url))

export function which(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], {stdio: 'ignore'}).status === 0
}

/** runs `mailbox ARGS` (dist/), throwing with its stderr when it fails */
export function cli(args: string[], input?: string): void {
  const r = spawnSync(process.execPath, [BIN, ...args], {input, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`mailbox ${args.join(' ')}: ${r.stderr}`)
}

/**
 * node flags for the served process, e.g. BENCH_SERVE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p" to
 * see where its time goes. Read once, when this module is imported: a harness that sets it later
 * measures serve without the flags (one A/B of V8 flags was void that way).
 */
const SERVE_NODE_ARGS = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
/** more `serve` flags for every served process, e.g. BENCH_SERVE_ARGS="--metrics-port 9154" to measure with the metrics on (one serve at a time) */
const SERVE_ARGS = (process.env.BENCH_SERVE_ARGS ?? '').split(/\s+/).filter(Boolean)

export interface Served {
  child: ChildProcess
  stop(): Promise<void>
}

/** CPU seconds (user + system, all threads) a process has used so far: less swayed by a busy machine than a rate */
export function cpuSeconds(pid: number): number {
  // fields after the command's closing parenthesis: state is 3rd, utime 14th, stime 15th
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}
/** _SC_CLK_TCK on Linux */
const CLOCK_TICKS = 100

export interface ServeSetup {
  /** added first, unless absent (another node of the same store added it) */
  domain?: string
  users: string[]
  /** a postgres:// store for the commands and serve (default: the LMDB store in the data dir) */
  store?: string
  /** the address serve binds (default 127.0.0.1) */
  host?: string
}

/** Creates the domain and users (password "pw"), then starts serve with SMTP on `smtpPort` and `extra` flags. */
export async function startServe(dataDir: string, smtpPort: number, setup: ServeSetup, extra: string[] = []): Promise<Served> {
  const {store, host = '127.0.0.1'} = setup
  const where = ['--data-dir', dataDir, ...(store ? ['--store', store] : [])]
  if (setup.domain) cli(['domain', 'add', setup.domain, ...where])
  for (const u of setup.users) cli(['user', 'add', u, '--password-stdin', ...where], 'pw\n')
  const ports = ['submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s', 'matcher'].filter((p) => !extra.includes(`--${p}-port`)).flatMap((p) => [`--${p}-port`, '0'])
  const bind = host === '127.0.0.1' ? [] : ['--bind', host]
  const child = spawn(process.execPath, [...SERVE_NODE_ARGS, BIN, 'serve', ...where, ...bind, '--smtp-port', String(smtpPort), '--log-level', 'warn', ...ports, ...extra, ...SERVE_ARGS], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr!.on('data', (d) => (err += d))
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 15_000
    const poll = () => {
      const s = createServer()
      s.once('error', () => resolve()) // the port is taken: serve is listening
      s.listen(smtpPort, host, () => {
        s.close()
        if (child.exitCode !== null) return reject(new Error(`serve exited: ${err}`))
        if (Date.now() > deadline) return reject(new Error(`serve did not listen: ${err}`))
        setTimeout(poll, 100)
      })
    }
    poll()
  })
  return {
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}
