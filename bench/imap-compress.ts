/**
 * IMAP benchmark part `compress`: `FETCH 1:* BODY.PEEK[]` over benchmark 2's bodies (bob's /
 * test1's INBOX) with COMPRESS=DEFLATE (RFC 4978) active, mailbox against Dovecot. Both deflate
 * at level 6: mailbox's `imap.compressionLevel` default, and Dovecot's
 * `imap_compress_deflate_level` (its default, set explicitly here). The client inflates with
 * node:zlib for both, so its cost is the same on each side.
 *
 * The peer's shared config (../shared/peer) does not load imap_zlib; this part adds it to the
 * config rendered for this run (under the run's own PEER_ROOT) and reloads Dovecot.
 */
import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {Imap, type Target} from './imap.js'
import {fig, higher, report} from './util.js'

const RUNS = 5
const LEVEL = 6
/** mailbox / Dovecot throughput the issue asks for */
const GOAL = 0.8

interface Figures {
  /** message (inflated) bytes per second, MB/s: medians */
  mbps: number
  runs: number[]
  /** one reply: its inflated size and what came over the socket */
  bytes: number
  wire: number
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** imap_zlib into the run's rendered dovecot.conf, then a reload; a reason when that failed */
function enableDovecotCompress(peerRoot: string): string | undefined {
  const conf = join(peerRoot, 'peer-etc', 'dovecot.conf')
  const text = readFileSync(conf, 'utf8')
  if (text.includes('imap_zlib')) return undefined
  if (!/^protocol imap \{$/m.test(text)) return `no "protocol imap {" block in ${conf}`
  writeFileSync(conf, text.replace(/^protocol imap \{$/m, 'protocol imap {\n  mail_plugins = $mail_plugins imap_zlib') + `\nplugin {\n  imap_compress_deflate_level = ${LEVEL}\n}\n`)
  const reload = spawnSync('dovecot', ['-c', conf, 'reload'], {encoding: 'utf8'})
  return reload.status === 0 ? undefined : `dovecot reload failed: ${(reload.stderr || reload.stdout).trim().slice(-200)}`
}

/** logs in; resolves once the server offers COMPRESS=DEFLATE (Dovecot's new config reaches new sessions shortly after a reload) */
async function loginOffering(t: Target): Promise<Imap> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const c = await Imap.connect(t.port)
    await c.login(t.users.bodies, t.password)
    const caps = await c.run('CAPABILITY', {collect: true})
    if (caps.lines.some((l) => / COMPRESS=DEFLATE\b/.test(l))) return c
    await c.logout()
    if (Date.now() > deadline) throw new Error(`${t.name} does not offer COMPRESS=DEFLATE after login`)
    await sleep(250)
  }
}

async function compressedBodies(t: Target, count: number): Promise<Figures> {
  const c = await loginOffering(t)
  try {
    await c.compress()
    await c.run('SELECT INBOX')
    const warm = await c.run('FETCH 1:* BODY.PEEK[]')
    if (warm.untagged < count) throw new Error(`${t.name}: FETCH BODY.PEEK[] returned ${warm.untagged} responses, expected ${count}`)
    const runs: number[] = []
    let bytes = 0
    let wire = 0
    for (let i = 0; i < RUNS; i++) {
      const before = c.wireBytes
      const r = await c.run('FETCH 1:* BODY.PEEK[]')
      bytes = r.bytes
      wire = c.wireBytes - before
      runs.push(r.bytes / 1e6 / (r.ms / 1000))
    }
    await c.logout()
    return {mbps: median(runs), runs, bytes, wire}
  } finally {
    c.destroy()
  }
}

export async function benchCompress(mbx: Target, dov: Target | undefined, peerRoot: string | undefined, count: number): Promise<void> {
  const m = await compressedBodies(mbx, count)
  let d: Figures | undefined
  let why = 'skipped (no peer)'
  if (dov && peerRoot) {
    try {
      const failed = enableDovecotCompress(peerRoot)
      if (failed) throw new Error(failed)
      d = await compressedBodies(dov, count)
    } catch (err) {
      why = `failed: ${(err as Error).message}`
    }
  }
  const fmt = (f: Figures) =>
    fig(f.mbps, 'MB/s', `of message bytes  (runs ${f.runs.map((x) => x.toFixed(0)).join(', ')}; ${(f.wire / 1e6).toFixed(1)} MB compressed on the wire for ${(f.bytes / 1e6).toFixed(1)} MB, ${((100 * f.wire) / f.bytes).toFixed(0)} %)`, 0)
  const ratio = d ? m.mbps / d.mbps : undefined
  report('compress', `FETCH 1:* BODY.PEEK[] of ${count} messages with COMPRESS=DEFLATE active, one client; message bytes / time until the tagged OK, median of ${RUNS} after a warm-up`, {
    'deflate level': `${LEVEL} on both (mailbox imap.compressionLevel, Dovecot imap_compress_deflate_level); the client inflates with node:zlib`,
    mailbox: fmt(m),
    Dovecot: d ? fmt(d) : why,
    'ratio mailbox / Dovecot (throughput)': ratio === undefined ? 'n/a' : higher(ratio, {goal: GOAL}),
  })
}
