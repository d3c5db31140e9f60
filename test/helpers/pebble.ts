/**
 * A real ACME server for tests: Debian's `pebble` (Let's Encrypt's test CA, RFC 8555) with
 * `pebble-challtestsrv` as its DNS, which answers every A query with 127.0.0.1 (-defaultIPv4), so
 * any name a test orders validates against the mailbox on loopback. Pebble checks HTTP-01 on
 * `httpPort` and TLS-ALPN-01 on `tlsPort` of that address: the ports `mailbox serve` listens on.
 *
 * Pebble's own HTTPS certificate is made here (a throwaway CA and a leaf for 127.0.0.1, openssl);
 * the CA file is what `serve --acme-ca-file` trusts. The issuing intermediate and root come from
 * pebble's management port. Every process is killed and its directory removed by `stop()`.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {request} from 'node:https'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {onPath} from './ci.js'
import {freePort} from './ports.js'

export const pebbleAvailable = (): boolean => onPath('pebble') && onPath('pebble-challtestsrv') && onPath('openssl')

export interface Pebble {
  /** the ACME directory URL */
  directory: string
  /** PEM of the CA that signed pebble's HTTPS certificate (for --acme-ca-file) */
  caFile: string
  /** pebble's stdout and stderr so far */
  log(): string
  /** new orders pebble created so far (its log says so for each) */
  orders(): number
  /** the PEM of pebble's issuing intermediate (the issuer of what it signs) */
  intermediate(): Promise<string>
  stop(): Promise<void>
}

export interface PebbleOptions {
  /** where pebble validates HTTP-01 (mailbox's HTTP port) */
  httpPort: number
  /** where pebble validates TLS-ALPN-01 (mailbox's HTTPS port) */
  tlsPort: number
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'pebble-'))
  const children: ChildProcess[] = []
  const stop = async () => {
    await Promise.all(children.map((child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGKILL'))))))
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    const caFile = makeCertificates(dir)
    const [listen, management, dns, challManagement] = await Promise.all([freePort(), freePort(), freePort(), freePort()])
    const config = join(dir, 'pebble-config.json')
    writeFileSync(
      config,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${listen}`,
          managementListenAddress: `127.0.0.1:${management}`,
          certificate: join(dir, 'pebble.pem'),
          privateKey: join(dir, 'pebble.key'),
          httpPort: options.httpPort,
          tlsPort: options.tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    )
    const chall = spawn('pebble-challtestsrv', ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dns}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challManagement}`], {stdio: ['ignore', 'pipe', 'pipe']})
    children.push(chall)
    let out = ''
    chall.stdout!.on('data', (d) => (out += d))
    chall.stderr!.on('data', (d) => (out += d))
    await waitForPort(challManagement, () => out)
    // no artificial sleeps; no nonce rejected on purpose; every order validated afresh (orders and challenges are what tests count)
    const pebble = spawn('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dns}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0'},
    })
    children.push(pebble)
    pebble.stdout!.on('data', (d) => (out += d))
    pebble.stderr!.on('data', (d) => (out += d))
    await waitForPort(listen, () => out)
    await waitForPort(management, () => out)
    const ca = readFileSync(caFile)
    return {
      directory: `https://127.0.0.1:${listen}/dir`,
      caFile,
      log: () => out,
      orders: () => out.split('\n').filter((line) => /Added order /.test(line)).length,
      intermediate: () => get(`https://127.0.0.1:${management}/intermediates/0`, ca),
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** a CA and, signed by it, pebble's certificate for 127.0.0.1 (EC keys: quick to make) */
function makeCertificates(dir: string): string {
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, {cwd: dir, encoding: 'utf8'})
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`)
  }
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mailbox test ACME server CA'])
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'pebble.key', '-out', 'pebble.csr', '-subj', '/CN=127.0.0.1'])
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  run(['x509', '-req', '-in', 'pebble.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'pebble.pem', '-days', '2', '-extfile', 'ext.cnf'])
  return join(dir, 'ca.pem')
}

async function waitForPort(port: number, output: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => (socket.destroy(), resolve(true)))
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function get(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, {ca}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: ${res.statusCode} ${body}`))))
    })
      .on('error', reject)
      .end()
  })
}
