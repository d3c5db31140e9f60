/**
 * A verifier thread (see ./verifier-pool.ts): runs ./verify.ts for the messages the pool hands it,
 * with a DNS cache of its own, so the hashing, key parsing and signature checks of every message
 * from outside stay off the event loop that serves SMTP, IMAP and POP3.
 */
import {parentPort, workerData} from 'node:worker_threads'
import {DnsCache, type DnsCacheLimits} from './dns.js'
import {withSignatureLimit} from './headers.js'
import {verifyMessage} from './verify.js'
import type {DnsSetup, ToWorker} from './verifier-pool.js'

const setup = workerData as DnsSetup
const limits: DnsCacheLimits = {...setup.limits}
let budgetMs = setup.budgetMs
const dns = new DnsCache(setup.servers, limits, () => budgetMs)

parentPort!.on('message', (msg: ToWorker) => {
  if (msg.type === 'dns') {
    Object.assign(limits, msg.setup.limits)
    budgetMs = msg.setup.budgetMs
    dns.setServers(msg.setup.servers)
    return
  }
  const {n, input} = msg
  const message = Buffer.from(input.message.buffer, input.message.byteOffset, input.message.byteLength)
  verifyMessage({
    message: withSignatureLimit(message, input.maxDkimSignatures).message,
    remoteAddress: input.remoteAddress,
    helo: input.helo,
    mailFrom: input.mailFrom,
    hostname: input.hostname,
    resolver: dns.lookupsFor(input.budgetMs),
  }).then(
    (verdict) => parentPort!.postMessage({n, verdict}),
    (err: unknown) => parentPort!.postMessage({n, error: err instanceof Error ? err.message : String(err)}),
  )
})
