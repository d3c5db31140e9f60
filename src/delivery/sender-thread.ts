/**
 * The sender thread, seen from the queue's foreman: it hands each attempt (envelope and message
 * bytes) to ./worker.ts, where the SMTP connections live, and gets the attempt's result back with
 * the number of the connection kept for the sender's next message.
 *
 * A thread that dies (a bug, memory) is started again; the attempts it had in hand come back
 * deferred, as after a crash: the message may have gone out before the thread died, so a retry
 * can duplicate it, never lose it. A thread that dies again soon after its start is restarted
 * with a growing pause (attempts in that pause are deferred at once), never in a tight loop.
 * The first thread starts with the first attempt, not with the server: a node whose queue stays
 * empty (a restart, IMAP only) never spends its start-up (~0.1 s of CPU) nor its memory, and an
 * attempt's network round trips dwarf the wait.
 */
import {Worker} from 'node:worker_threads'
import {movable} from '../movable.js'
import {runsFromSource, workerFromSource} from '../worker-from-source.js'
import {raiseWarning, type ThreadWarning} from '../worker-warnings.js'
import type {AttemptJob, AttemptOutcome} from './deliverer.js'
import type {RouteConfig} from './route.js'
import type {AttemptResult} from './smtp-client.js'

/** what the thread needs to deliver (plain data: it crosses to the thread) */
export interface SenderSetup {
  route: RouteConfig
  client: {hostname: string; connectTimeoutMs: number; socketTimeoutMs: number}
  /** PEM CA certificates for hops with credentials, besides Node's trust store */
  trustedCa?: string
  /** PEM CA certificates for MX hosts under an MTA-STS policy (mtaSts.caFile), besides Node's */
  stsTrustedCa?: string
  /** the thread's nice value (Linux: per thread); taken when the thread starts */
  nice: number
}

type WireJob = Omit<AttemptJob, 'message'> & {message: Uint8Array}
export type ToSender = {type: 'attempt'; n: number; job: WireJob; session?: number} | {type: 'close'; session: number} | {type: 'configure'; setup: SenderSetup} | {type: 'stop'}
export type FromSender = {n: number; outcome: AttemptOutcome} | {n: number; error: string} | {stopped: true} | {warning: ThreadWarning}

/** a connection kept open in the thread: it means something only to the thread that opened it */
export interface KeptSession {
  thread: number
  id: number
}

/** a thread that dies sooner than this after its start counts as failing to start */
const STEADY_MS = 5000
const RESTART_PAUSE_MS = 500
const MAX_RESTART_PAUSE_MS = 30_000
const STOP_GRACE_MS = 2000

interface Thread {
  worker: Worker
  generation: number
  startedAt: number
  /** attempts in hand: their recipients (to defer them if the thread dies), their settling, their deadline */
  pending: Map<number, {recipients: string[]; settle: (outcome: AttemptOutcome) => void; timer: NodeJS.Timeout}>
}

// run from the sources (tests), the thread is the .ts file; compiled, the .js next to this one
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url)

export class SenderThread {
  private thread?: Thread
  private generations = 0
  private next = 0
  /** quick deaths in a row, and when the next start may be */
  private failures = 0
  private restartAt = 0
  private stopped = false

  constructor(
    private setup: SenderSetup,
    private readonly onThreadError: (err: Error) => void,
  ) {}

  /**
   * One attempt; over the connection `kept` when it is still open in the same thread. The
   * message's memory may move to the thread: the caller must not use `job.message` afterwards.
   */
  attempt(job: AttemptJob, kept?: KeptSession): Promise<{result: AttemptResult; session?: KeptSession}> {
    const thread = this.live()
    if (!thread) return Promise.resolve({result: deferredAll(job.recipients, 'the delivery thread is restarting')})
    const n = this.next++
    const session = kept?.thread === thread.generation ? kept.id : undefined
    return new Promise((resolve) => {
      const settle = ({result, session: id}: AttemptOutcome) => {
        clearTimeout(timer)
        resolve({result, ...(id === undefined ? {} : {session: {thread: thread.generation, id}})})
      }
      // every wait in the thread has its own timeout; this bounds their sum, so no bug there can hold an entry `sending`
      const timer = setTimeout(() => {
        if (!thread.pending.delete(n)) return
        this.onThreadError(new Error(`the delivery thread did not finish an attempt for ${job.domain} in ${this.deadlineMs()} ms`))
        settle({result: deferredAll(job.recipients, 'the delivery attempt took too long')})
      }, this.deadlineMs()).unref()
      thread.pending.set(n, {recipients: job.recipients, settle, timer})
      // moved to the thread, not cloned (see ../movable.ts): what the store reads owns its memory and moves without a copy
      const message = movable(job.message)
      thread.worker.postMessage({type: 'attempt', n, job: {...job, message}, ...(session === undefined ? {} : {session})} satisfies ToSender, [message.buffer as ArrayBuffer])
    })
  }

  /** QUIT on a kept connection (gone with its thread already, if that died) */
  close(kept: KeptSession): void {
    if (this.thread?.generation === kept.thread) this.thread.worker.postMessage({type: 'close', session: kept.id} satisfies ToSender)
  }

  /** a reload: attempts from now on take these routes and this trust */
  configure(setup: SenderSetup): void {
    this.setup = setup
    this.thread?.worker.postMessage({type: 'configure', setup} satisfies ToSender)
  }

  /** Ends the thread after it sent QUIT on its kept connections (bounded by STOP_GRACE_MS). */
  async stop(): Promise<void> {
    this.stopped = true
    const thread = this.thread
    if (!thread) return
    this.thread = undefined
    thread.worker.removeAllListeners('exit')
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_GRACE_MS)
      thread.worker.on('message', (msg: FromSender) => {
        if ('stopped' in msg) {
          clearTimeout(timer)
          resolve()
        }
      })
      thread.worker.postMessage({type: 'stop'} satisfies ToSender)
    })
    this.fail(thread, 'the delivery thread stopped')
    await thread.worker.terminate()
  }

  /** an attempt's longest honest duration: a few connects (hosts, addresses) and the replies of one transaction */
  private deadlineMs(): number {
    const {connectTimeoutMs, socketTimeoutMs} = this.setup.client
    return 4 * connectTimeoutMs + 8 * socketTimeoutMs
  }

  private live(): Thread | undefined {
    if (!this.thread && !this.stopped && Date.now() >= this.restartAt) this.thread = this.spawn()
    return this.thread
  }

  private spawn(): Thread {
    const worker = runsFromSource(WORKER) ? workerFromSource(WORKER, {workerData: this.setup}) : new Worker(WORKER, {workerData: this.setup})
    const thread: Thread = {worker, generation: ++this.generations, startedAt: Date.now(), pending: new Map()}
    worker.on('message', (msg: FromSender) => {
      if ('warning' in msg) return raiseWarning(msg.warning)
      if ('stopped' in msg) return
      const attempt = thread.pending.get(msg.n)
      // an attempt given up on (its deadline passed) that still left a connection open: close it
      if (!attempt) return void ('outcome' in msg && msg.outcome.session !== undefined && worker.postMessage({type: 'close', session: msg.outcome.session} satisfies ToSender))
      thread.pending.delete(msg.n)
      // an attempt that threw (a bug, not a refusal) is deferred like any temporary trouble
      attempt.settle('outcome' in msg ? msg.outcome : {result: deferredAll(attempt.recipients, msg.error)})
    })
    worker.on('error', (err) => this.died(thread, err))
    worker.on('exit', (code) => this.died(thread, new Error(`the delivery thread exited (code ${code})`)))
    // an idle thread must not keep the process alive
    worker.unref()
    return thread
  }

  private died(thread: Thread, err: Error): void {
    if (this.thread !== thread) return
    this.thread = undefined
    this.onThreadError(err)
    this.failures = Date.now() - thread.startedAt < STEADY_MS ? this.failures + 1 : 0
    this.restartAt = this.failures ? Date.now() + Math.min(RESTART_PAUSE_MS * 2 ** (this.failures - 1), MAX_RESTART_PAUSE_MS) : 0
    this.fail(thread, `the delivery thread stopped: ${err.message}`)
    thread.worker.removeAllListeners('exit')
    void thread.worker.terminate()
  }

  /** its attempts in hand come back deferred, each recipient with the reason */
  private fail(thread: Thread, why: string): void {
    for (const {recipients, settle} of thread.pending.values()) settle({result: deferredAll(recipients, why)})
    thread.pending.clear()
  }
}

const deferredAll = (recipients: string[], why: string): AttemptResult => ({host: '', transcript: [`!: ${why}`], recipients: recipients.map((address) => ({address, outcome: 'deferred', reply: `451 4.3.0 ${why}`}))})
