/**
 * The mail-auth threads (./worker.ts): the CPU work of mail authentication runs there instead of
 * on the event loop that serves SMTP, IMAP and POP3, on a core the sessions do not use —
 *  - verifying a message from outside: mailauth's parsing, body hashes, key parsing, RSA and
 *    Ed25519 checks (about 1 ms of CPU for a 10 KiB signed message);
 *  - DKIM-signing a message that leaves (RSA-2048: about 1 ms of CPU).
 * A job goes to the live thread with the fewest in hand. A thread that dies (its heap is bounded:
 * `threadMemoryMb`), or does not answer within the job's time plus a grace period (stuck on CPU),
 * is ended and its jobs fail, which the
 * callers record as temperror (verification) or as a local error (signing): never a hang. Its
 * replacement starts at once the first time, then after a growing pause while threads keep dying
 * (a broken install must not spin up threads in a loop); jobs meanwhile wait for it, within their
 * own time limit.
 *
 * (The file keeps its first name: scripts/package/build.ts finds the `new Worker` call here.)
 */
import {Worker} from 'node:worker_threads'
import {runsFromSource, workerFromSource} from '../worker-from-source.js'
import type {DnsCacheLimits} from './dns.js'
import {bufferOf, movable} from '../movable.js'
import {raiseWarning, type ThreadWarning} from '../worker-warnings.js'
import type {Verdict} from './verify.js'
import type {SigningKey} from '../dkim/sign.js'

/** what a thread needs for its DNS */
export interface DnsSetup {
  servers: string[]
  limits: DnsCacheLimits
  budgetMs: number
}

export interface VerifyJob {
  /** handed over to the thread: the caller's view of it is empty afterwards */
  message: Uint8Array
  remoteAddress: string
  helo: string
  mailFrom: string
  hostname: string
  budgetMs: number
  maxDkimSignatures: number
}

export interface VerifyResult {
  verdict: Verdict
  /** the message without Authentication-Results fields that claim our authserv-id */
  message: Buffer
  /** how many such fields were removed */
  removed: number
}

export interface SignJob {
  /** copied to the thread; the caller keeps its bytes */
  message: Uint8Array
  domain: string
  keys: SigningKey[]
  /** the t= time in ms */
  now: number
}

export type ToWorker =
  | {type: 'verify'; n: number; input: VerifyJob}
  | {type: 'sign'; n: number; input: SignJob}
  | {type: 'dns'; setup: DnsSetup}
type Job = Exclude<ToWorker, {type: 'dns'}>
export type FromWorker =
  | {n: number; verdict: Verdict; message: Uint8Array; removed: number}
  | {n: number; signatures: Uint8Array}
  | {n: number; error: string}
type FromThread = FromWorker | {warning: ThreadWarning}

/** beyond the DNS budget: CPU time a message may take before its thread counts as stuck */
const GRACE_MS = 10_000
/** a signature needs no DNS: this long before its thread counts as stuck */
const SIGN_TIMEOUT_MS = 10_000

/** respawn pauses while threads keep dying: none the first time, then 250 ms doubling up to 30 s */
export const RESPAWN_FIRST_PAUSE_MS = 250
export const RESPAWN_MAX_PAUSE_MS = 30_000
/** a thread that lived this long died on its own: the next one starts at once again */
const STABLE_AFTER_MS = 60_000

interface Pending {
  resolve: (reply: FromWorker) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

interface Thread {
  worker: Worker
  pending: Map<number, Pending>
  startedAt: number
}

/** one place in the pool: its thread, or none while the replacement waits out its pause */
interface Slot {
  thread?: Thread
  /** threads that died young in a row */
  deaths: number
  respawn?: NodeJS.Timeout
}

/** a job not yet handed to a thread (none was alive) */
interface Queued {
  msg: Job
  transfer: ArrayBuffer[]
  pending: Pending
}

// run from the sources (tests), the thread is the .ts file; compiled, the .js next to this one
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url)

export class MailAuthPool {
  private readonly slots: Slot[] = []
  private readonly queued: Queued[] = []
  private next = 0
  private closing = false
  private readonly heapMb: number

  constructor(
    threads: {count: number; heapMb: number},
    private setup: DnsSetup,
    private readonly onThreadError: (err: Error, pauseMs: number) => void,
  ) {
    this.heapMb = threads.heapMb
    for (let i = 0; i < threads.count; i++) {
      const slot: Slot = {deaths: 0}
      this.slots.push(slot)
      this.spawn(slot)
    }
  }

  /** verifies `job.message` (moved to the thread: the caller's view is emptied) */
  async verify(job: VerifyJob): Promise<VerifyResult> {
    const message = movable(job.message)
    const reply = await this.run({type: 'verify', n: this.next++, input: {...job, message}}, [message.buffer as ArrayBuffer])
    if (!('verdict' in reply)) throw new Error('the mail-auth thread answered a verification with something else')
    return {verdict: reply.verdict, message: bufferOf(reply.message), removed: reply.removed}
  }

  /** the DKIM-Signature fields for `job.message` (copied: the caller keeps it) */
  async sign(job: SignJob): Promise<Buffer> {
    const message = new Uint8Array(job.message)
    const reply = await this.run({type: 'sign', n: this.next++, input: {...job, message}}, [message.buffer])
    if (!('signatures' in reply)) throw new Error('the mail-auth thread answered a signature with something else')
    return bufferOf(reply.signatures)
  }

  /** new DNS servers or cache limits (a reload) */
  setDns(setup: DnsSetup): void {
    this.setup = setup
    for (const {thread} of this.slots) thread?.worker.postMessage({type: 'dns', setup} satisfies ToWorker)
  }

  async close(): Promise<void> {
    this.closing = true
    const err = new Error('the mail-auth threads are stopping')
    for (const job of this.queued.splice(0)) settle(job.pending).reject(err)
    await Promise.all(
      this.slots.map((slot) => {
        clearTimeout(slot.respawn)
        const {thread} = slot
        slot.thread = undefined
        return thread && this.end(thread, err)
      }),
    )
  }

  private run(msg: Job, transfer: ArrayBuffer[]): Promise<FromWorker> {
    if (this.closing) return Promise.reject(new Error('the mail-auth threads are stopping'))
    return new Promise<FromWorker>((resolve, reject) => {
      const pending: Pending = {resolve, reject, timer: undefined as unknown as NodeJS.Timeout}
      const live = this.slots.filter((s) => s.thread).map((s) => s.thread!)
      if (!live.length) {
        // every thread is waiting out its pause: the job waits too, within its own time
        const job: Queued = {msg, transfer, pending}
        pending.timer = setTimeout(() => {
          this.queued.splice(this.queued.indexOf(job), 1)
          reject(new Error('no mail-auth thread came up in time'))
        }, timeoutOf(msg))
        this.queued.push(job)
        return
      }
      const thread = live.reduce((best, t) => (t.pending.size < best.pending.size ? t : best))
      this.send(thread, msg, transfer, pending)
    })
  }

  /** a waiting job's time starts again here: it is the thread's answer that is timed */
  private send(thread: Thread, msg: Job, transfer: ArrayBuffer[], pending: Pending): void {
    clearTimeout(pending.timer)
    pending.timer = setTimeout(() => this.failed(thread, new Error('the mail-auth thread did not answer in time')), timeoutOf(msg))
    thread.pending.set(msg.n, pending)
    thread.worker.postMessage(msg, transfer)
  }

  private spawn(slot: Slot): void {
    slot.respawn = undefined
    // a job that needs more heap than this ends its thread (ERR_WORKER_OUT_OF_MEMORY), not the process
    const resourceLimits = {maxOldGenerationSizeMb: this.heapMb}
    const worker = runsFromSource(WORKER)
      ? workerFromSource(WORKER, {workerData: this.setup, resourceLimits})
      : new Worker(WORKER, {workerData: this.setup, resourceLimits})
    const thread: Thread = {worker, pending: new Map(), startedAt: Date.now()}
    slot.thread = thread
    thread.worker.on('message', (msg: FromThread) => {
      if ('warning' in msg) return raiseWarning(msg.warning)
      const job = thread.pending.get(msg.n)
      if (!job) return
      thread.pending.delete(msg.n)
      clearTimeout(job.timer)
      if ('error' in msg) job.reject(new Error(msg.error))
      else job.resolve(msg)
    })
    thread.worker.on('error', (err) => this.failed(thread, err))
    thread.worker.on('exit', () => this.failed(thread, new Error('the mail-auth thread exited')))
    // an idle thread must not keep the process alive
    thread.worker.unref()
    // jobs that waited for a thread: what time they have left runs on
    for (const job of this.queued.splice(0)) this.send(thread, job.msg, job.transfer, job.pending)
  }

  /** ends a thread that failed, failing its jobs, and starts another in its place (see the top) */
  private failed(thread: Thread, err: Error): void {
    const slot = this.slots.find((s) => s.thread === thread)
    if (!slot) return
    slot.thread = undefined
    void this.end(thread, err)
    if (this.closing) return
    slot.deaths = Date.now() - thread.startedAt >= STABLE_AFTER_MS ? 1 : slot.deaths + 1
    const pauseMs = slot.deaths <= 1 ? 0 : Math.min(RESPAWN_MAX_PAUSE_MS, RESPAWN_FIRST_PAUSE_MS * 2 ** (slot.deaths - 2))
    this.onThreadError(err, pauseMs)
    if (pauseMs === 0) this.spawn(slot)
    else slot.respawn = setTimeout(() => this.spawn(slot), pauseMs).unref()
  }

  private async end(thread: Thread, err: Error): Promise<void> {
    thread.worker.removeAllListeners('exit')
    thread.worker.removeAllListeners('error')
    thread.worker.on('error', () => {}) // a late error of a thread already given up
    for (const job of thread.pending.values()) settle(job).reject(err)
    thread.pending.clear()
    await thread.worker.terminate()
  }
}

function settle(job: Pending): Pending {
  clearTimeout(job.timer)
  return job
}

/** how long a thread may take over a job before it counts as stuck */
function timeoutOf(msg: Job): number {
  return msg.type === 'verify' ? msg.input.budgetMs + GRACE_MS : SIGN_TIMEOUT_MS
}
