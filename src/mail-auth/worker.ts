/**
 * A mail-auth thread (see ./verifier-pool.ts), so this CPU work stays off the event loop that
 * serves SMTP, IMAP and POP3:
 *  - `verify`: removes Authentication-Results fields that claim our authserv-id (./headers.ts)
 *    and runs ./verify.ts, with a DNS cache and a cache of parsed keys (./key-cache.ts) of its
 *    own; the message goes back with the verdict (moved, not copied), so the front-end stores
 *    these very bytes;
 *  - `sign`: the DKIM-Signature fields of an outgoing message (../dkim/sign.ts), RSA signed right
 *    here rather than on Node's threadpool, which LMDB's commits use.
 */
// first: mailauth's verifiers take the key parser it wraps as they load
import {setKeyCacheEntries} from './key-cache.js'
import {parentPort, workerData} from 'node:worker_threads'
import {dkimSignatures} from '../dkim/sign.js'
import {DnsCache, type DnsCacheLimits} from './dns.js'
import {withoutForgedResults, withSignatureLimit} from './headers.js'
import {bufferOf, movable} from '../movable.js'
import {forwardWarnings} from '../worker-warnings.js'
import type {DnsSetup, FromWorker, SignJob, ToWorker, VerifyJob} from './verifier-pool.js'
import {verifyMessage} from './verify.js'

const setup = workerData as DnsSetup
forwardWarnings(parentPort!)
const limits: DnsCacheLimits = {...setup.limits}
let budgetMs = setup.budgetMs
const dns = new DnsCache(setup.servers, limits, () => budgetMs)
setKeyCacheEntries(limits.dnsCacheEntries)

async function verify(n: number, input: VerifyJob): Promise<void> {
  // RFC 8601 §5: whatever the verdict, nobody outside speaks for this server
  const {message, removed} = withoutForgedResults(bufferOf(input.message), input.hostname)
  const verdict = await verifyMessage({
    message: withSignatureLimit(message, input.maxDkimSignatures).message,
    remoteAddress: input.remoteAddress,
    helo: input.helo,
    mailFrom: input.mailFrom,
    hostname: input.hostname,
    resolver: dns.lookupsFor(input.budgetMs),
  })
  const back = movable(message)
  reply({n, verdict, message: back, removed}, back)
}

async function sign(n: number, input: SignJob): Promise<void> {
  const signatures = movable(await dkimSignatures(bufferOf(input.message), input.domain, input.keys, input.now, true))
  reply({n, signatures}, signatures)
}

const reply = (msg: FromWorker, moved: Uint8Array) => parentPort!.postMessage(msg, [moved.buffer as ArrayBuffer])

parentPort!.on('message', (msg: ToWorker) => {
  if (msg.type === 'dns') {
    Object.assign(limits, msg.setup.limits)
    setKeyCacheEntries(limits.dnsCacheEntries)
    budgetMs = msg.setup.budgetMs
    dns.setServers(msg.setup.servers)
    return
  }
  const job = msg.type === 'verify' ? verify(msg.n, msg.input) : sign(msg.n, msg.input)
  job.catch((err: unknown) => parentPort!.postMessage({n: msg.n, error: err instanceof Error ? err.message : String(err)} satisfies FromWorker))
})
