/**
 * The verifier threads (./worker.ts): mailauth's work on a message (parsing, body hashes, key
 * parsing, RSA and Ed25519 checks: about 1.5 ms of CPU for a 10 KiB signed message) runs there
 * instead of on the event loop, on a core the SMTP sessions do not use. A message goes to the
 * thread with the fewest in hand. A thread that dies, or does not answer within the message's DNS
 * budget plus a grace period (stuck on CPU), is replaced and its messages fail, which the actor
 * records as temperror: never a hang.
 */
import {Worker} from 'node:worker_threads'
import {runsFromSource, workerFromSource} from '../worker-from-source.js'
import type {DnsCacheLimits} from './dns.js'
import type {Verdict} from './verify.js'

/** what a thread needs for its DNS */
export interface DnsSetup {
  servers: string[]
  limits: DnsCacheLimits
  budgetMs: number
}

export interface VerifyJob {
  message: Uint8Array
  remoteAddress: string
  helo: string
  mailFrom: string
  hostname: string
  budgetMs: number
  maxDkimSignatures: number
}

export type ToWorker = {type: 'verify'; n: number; input: VerifyJob} | {type: 'dns'; setup: DnsSetup}
type FromWorker = {n: number; verdict: Verdict} | {n: number; error: string}

/** beyond the DNS budget: CPU time a message may take before its thread counts as stuck */
const GRACE_MS = 10_000

interface Pending {
  resolve: (verdict: Verdict) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

interface Thread {
  worker: Worker
  pending: Map<number, Pending>
}

// run from the sources (tests), the thread is the .ts file; compiled, the .js next to this one
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url)

export class VerifierPool {
  private readonly threads: Thread[] = []
  private next = 0
  private closing = false

  constructor(
    size: number,
    private setup: DnsSetup,
    private readonly onThreadError: (err: Error) => void,
  ) {
    for (let i = 0; i < size; i++) this.threads.push(this.spawn())
  }

  verify(job: VerifyJob): Promise<Verdict> {
    const thread = this.threads.reduce((best, t) => (t.pending.size < best.pending.size ? t : best))
    const n = this.next++
    return new Promise<Verdict>((resolve, reject) => {
      const timer = setTimeout(() => this.replace(thread, new Error('the verifier thread did not answer in time')), job.budgetMs + GRACE_MS)
      thread.pending.set(n, {resolve, reject, timer})
      // a copy of exactly the message's bytes, moved to the thread: cloning a Buffer would copy
      // the whole memory it is a view of (a pool slab, a larger buffer)
      const message = new Uint8Array(job.message)
      thread.worker.postMessage({type: 'verify', n, input: {...job, message}} satisfies ToWorker, [message.buffer])
    })
  }

  /** new DNS servers or cache limits (a reload) */
  setDns(setup: DnsSetup): void {
    this.setup = setup
    for (const {worker} of this.threads) worker.postMessage({type: 'dns', setup} satisfies ToWorker)
  }

  async close(): Promise<void> {
    this.closing = true
    await Promise.all(this.threads.map((t) => this.end(t, new Error('the verifier is stopping'))))
  }

  private spawn(): Thread {
    const worker = runsFromSource(WORKER) ? workerFromSource(WORKER, {workerData: this.setup}) : new Worker(WORKER, {workerData: this.setup})
    const thread: Thread = {worker, pending: new Map()}
    thread.worker.on('message', (msg: FromWorker) => {
      const job = thread.pending.get(msg.n)
      if (!job) return
      thread.pending.delete(msg.n)
      clearTimeout(job.timer)
      if ('verdict' in msg) job.resolve(msg.verdict)
      else job.reject(new Error(msg.error))
    })
    thread.worker.on('error', (err) => this.replace(thread, err))
    thread.worker.on('exit', () => this.replace(thread, new Error('the verifier thread exited')))
    // an idle thread must not keep the process alive
    thread.worker.unref()
    return thread
  }

  /** ends a thread that failed, failing its messages, and starts another in its place */
  private replace(thread: Thread, err: Error): void {
    const at = this.threads.indexOf(thread)
    if (at === -1) return
    if (!this.closing) {
      this.onThreadError(err)
      this.threads[at] = this.spawn()
    }
    void this.end(thread, err)
  }

  private async end(thread: Thread, err: Error): Promise<void> {
    thread.worker.removeAllListeners('exit')
    for (const job of thread.pending.values()) {
      clearTimeout(job.timer)
      job.reject(err)
    }
    thread.pending.clear()
    await thread.worker.terminate()
  }
}
