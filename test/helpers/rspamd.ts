/**
 * Debian's rspamd, started for a test file: the packaged configuration (/etc/rspamd, rspamd's
 * default) with a local.d / override.d of our own in a temp dir, so it listens on free loopback
 * ports, keeps its state, logs and sockets in that dir, and asks a dead DNS server (every DNS
 * check times out within 0.1 s: nothing leaves the machine). The modules whose verdict depends on
 * DNS answers it cannot get (hfilter, greylist) are off, so a plain message scores no action.
 * redis-server on a free port holds the bayes statistics (min_learns 1: one learned message
 * shows in /stat). Start once per file (beforeAll): the start takes a second or two.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {onPath} from './ci.js'
import {freePort} from './ports.js'

export const RSPAMD_AVAILABLE = onPath('rspamd') && onPath('redis-server')

/** the GTUBE test string: rspamd rejects a message holding it */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

export interface RspamdServer {
  /** the normal worker */
  url: string
  controllerUrl: string
  password: string
  /** the controller's /stat */
  stat(): Promise<{learned: number; scanned: number; actions: Record<string, number>}>
  /** rspamd's processes now: the main one and its workers (a benchmark sums their CPU) */
  pids(): number[]
  /** rspamd stops (redis too); idempotent */
  stop(): Promise<void>
}

const STARTUP_MS = 60_000

/** `workers`: normal workers (default 1; rspamd's own default is one per core) */
export async function startRspamd(options: {workers?: number} = {}): Promise<RspamdServer> {
  // a port probed free can be taken before rspamd or redis binds it (another test's server):
  // they then exit at once, and new ports are tried
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options)
    } catch (err) {
      if (attempt < 3 && (err as {portTaken?: boolean}).portTaken) continue
      throw err
    }
  }
}

async function startOnce(options: {workers?: number}): Promise<RspamdServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-rspamd-'))
  for (const sub of ['local.d', 'override.d', 'db', 'run', 'log']) mkdirSync(join(dir, sub))
  const [normal, controller, proxy, redisPort, deadDns] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()])
  const password = 'rspamd-test-password'
  const files: Record<string, string> = {
    'override.d/worker-normal.inc': `bind_socket = "127.0.0.1:${normal}";\nmime = true;\ncount = ${options.workers ?? 1};\n`,
    // secure_ip elsewhere: loopback must send the password, as mailbox does
    'override.d/worker-controller.inc': `bind_socket = "127.0.0.1:${controller}";\ncount = 1;\npassword = "${password}";\nsecure_ip = "192.0.2.1";\nstatic_dir = "\${WWWDIR}";\n`,
    'override.d/worker-proxy.inc': `bind_socket = "127.0.0.1:${proxy}";\ncount = -1;\n`,
    'override.d/logging.inc': `type = "file";\nfilename = "${join(dir, 'log', 'rspamd.log')}";\nlevel = "info";\n`,
    // a small TLD list: compiling the whole public suffix list takes rspamd some ten seconds
    'local.d/options.inc': `dns { nameserver = ["127.0.0.1:${deadDns}"]; timeout = 0.1s; retransmits = 1; }\nurl_tld = "${join(dir, 'tld.dat')}";\n`,
    'tld.dat': 'com\norg\nnet\ntest\nexample\ninvalid\nlocalhost\n',
    'local.d/redis.conf': `servers = "127.0.0.1:${redisPort}";\n`,
    'local.d/classifier-bayes.conf': 'min_learns = 1;\nmin_tokens = 1;\n',
    'local.d/greylist.conf': 'enabled = false;\n',
    'local.d/hfilter.conf': 'enabled = false;\n',
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)

  const children: ChildProcess[] = []
  const stop = async () => {
    await Promise.all(children.splice(0).map(stopChild))
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    const redisLog = join(dir, 'log', 'redis.log')
    const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', join(dir, 'db'), '--logfile', redisLog], {stdio: 'ignore'})
    children.push(redis)
    await waitFor(() => accepts(redisPort), 'redis-server', redis, redisLog)
    const vars = {LOCAL_CONFDIR: dir, DBDIR: join(dir, 'db'), RUNDIR: join(dir, 'run'), LOGDIR: join(dir, 'log')}
    // -f: stay in the foreground (our child); -i: workers may run as root (a CI container)
    const args = ['-f', '-i', ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}=${v}`])]
    const main = spawn('rspamd', args, {stdio: 'ignore'})
    children.push(main)
    const url = `http://127.0.0.1:${normal}`
    const controllerUrl = `http://127.0.0.1:${controller}`
    await waitFor(async () => (await ping(url)) && (await ping(controllerUrl)), 'rspamd', main, join(dir, 'log', 'rspamd.log'))
    return {
      url,
      controllerUrl,
      password,
      pids: () => [main.pid!, ...childPids(main.pid!)],
      stat: async () => (await fetch(`${controllerUrl}/stat`, {headers: {Password: password}})).json() as never,
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** a process's children, from /proc (Linux) */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number))
  } catch {
    return []
  }
}

async function ping(url: string): Promise<boolean> {
  try {
    return (await (await fetch(`${url}/ping`, {signal: AbortSignal.timeout(1000)})).text()).trim() === 'pong'
  } catch {
    return false
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

/** until `ready`; an exit of `child` (a port taken: marked `portTaken`) or the deadline throws with the end of its log */
async function waitFor(ready: () => Promise<boolean>, what: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + STARTUP_MS
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-2000)
    } catch {
      return ''
    }
  }
  while (!(await ready())) {
    const exited = child.exitCode !== null || child.signalCode !== null
    if (exited || Date.now() > deadline) {
      const log = logTail()
      throw Object.assign(new Error(`${what} ${exited ? 'exited' : `did not start within ${STARTUP_MS} ms`}\n${log}`), {portTaken: /Address already in use/.test(log)})
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** SIGTERM, then SIGKILL if it lingers; resolves once it exited */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => (clearTimeout(kill), resolve()))
    child.kill('SIGTERM')
  })
}
