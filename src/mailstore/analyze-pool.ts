/**
 * Message analysis (MIME structure, envelope, mailparser's decoding) on worker threads, so the
 * main thread's event loop keeps serving SMTP/IMAP while another core parses. Jobs go to the
 * worker with the fewest in flight. A worker that dies is replaced; its jobs fail (the SMTP
 * client gets a 451 and retries), they are never silently dropped.
 */
import {Worker} from 'node:worker_threads'
import type {Analysis} from './analyze.js'

interface Job {
  resolve: (a: Analysis) => void
  reject: (e: Error) => void
}

interface Slot {
  worker: Worker
  jobs: Map<number, Job>
}

export class AnalyzePool {
  private readonly slots: Slot[] = []
  private nextId = 1
  private closed = false

  constructor(size: number) {
    for (let i = 0; i < Math.max(1, size); i++) this.slots.push(this.spawn())
  }

  analyze(raw: Buffer): Promise<Analysis> {
    if (this.closed) return Promise.reject(new Error('analyze pool closed'))
    const slot = this.slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, {resolve, reject})
      // hand over a private copy by transfer: cheaper than structured-cloning a Buffer
      const copy = new Uint8Array(raw.byteLength)
      copy.set(raw)
      slot.worker.postMessage({id, raw: copy}, [copy.buffer])
    })
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
  }

  private spawn(): Slot {
    const here = import.meta.url
    // From dist/ the worker is compiled JS. Under tsx (bin/dev.js) it is the TypeScript source,
    // and Node 20 workers ignore `--import tsx` for their entry module: register tsx first.
    const source = new URL('./analyze-worker.ts', here).href
    const worker = here.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then(({register}) => { register(); return import(${JSON.stringify(source)}) })`, {eval: true})
      : new Worker(new URL('./analyze-worker.js', here))
    const slot: Slot = {worker, jobs: new Map()}
    worker.on('message', (msg: {id: number; analysis?: Analysis; error?: string}) => {
      const job = slot.jobs.get(msg.id)
      if (!job) return
      slot.jobs.delete(msg.id)
      if (msg.analysis) job.resolve(msg.analysis)
      else job.reject(new Error(`analysis failed: ${msg.error}`))
    })
    worker.on('error', (err) => this.replace(slot, err))
    worker.on('exit', (code) => this.replace(slot, new Error(`analyze worker exited with code ${code}`)))
    worker.unref()
    return slot
  }

  private replace(slot: Slot, err: Error): void {
    for (const job of slot.jobs.values()) job.reject(err)
    slot.jobs.clear()
    const i = this.slots.indexOf(slot)
    if (i === -1 || this.closed) return
    this.slots[i] = this.spawn()
  }
}
