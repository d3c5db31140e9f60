/**
 * The outbound bench's IMAP client, on a worker thread of its own: the bench's main thread also
 * runs the SMTP sink that receives every delivered message, and a NOOP reply waiting there behind
 * the sink's work would be charged to the server. One logged-in session (INBOX selected) sends
 * NOOP, one at a time with a pause between, while the main thread says so; each round trip in ms.
 *
 * Messages in: {start: true} begins a series, {stop: true} ends it and posts {samples}.
 */
import {connect} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import {parentPort, workerData} from 'node:worker_threads'

const {port, user, password, gapMs, replyTimeoutMs} = workerData as {port: number; user: string; password: string; gapMs: number; replyTimeoutMs: number}
const out = parentPort!

const socket = connect(port, '127.0.0.1')
socket.setNoDelay(true)
let buffered = ''
let waiting: {tag: string; resolve: () => void; reject: (e: Error) => void} | undefined
const fail = (err: Error) => waiting?.reject(err)
socket.on('error', fail)
socket.on('close', () => fail(new Error('outbound bench: the IMAP connection closed')))
const greeted = new Promise<void>((resolve, reject) => (waiting = {tag: '*', resolve, reject}))
socket.on('data', (chunk: Buffer) => {
  buffered += chunk.toString('latin1')
  for (let eol = buffered.indexOf('\r\n'); eol >= 0; eol = buffered.indexOf('\r\n')) {
    const line = buffered.slice(0, eol)
    buffered = buffered.slice(eol + 2)
    if (waiting && line.startsWith(`${waiting.tag} `)) {
      const w = waiting
      waiting = undefined
      if (w.tag === '*' || line.startsWith(`${w.tag} OK`)) w.resolve()
      else w.reject(new Error(`outbound bench: IMAP said ${line}`))
    }
  }
})

let next = 1
const run = (text: string) =>
  new Promise<void>((resolve, reject) => {
    const tag = `n${next++}`
    const timer = setTimeout(() => reject(new Error(`outbound bench: no reply to ${text} within ${replyTimeoutMs} ms`)), replyTimeoutMs)
    const settle = <T>(fn: (v: T) => void) => (v: T) => (clearTimeout(timer), fn(v))
    waiting = {tag, resolve: settle(resolve), reject: settle(reject)}
    socket.write(`${tag} ${text}\r\n`)
  })

let running = false
let series: Promise<number[]> | undefined

async function noops(): Promise<number[]> {
  const samples: number[] = []
  while (running) {
    const start = process.hrtime.bigint()
    await run('NOOP')
    samples.push(Number(process.hrtime.bigint() - start) / 1e6)
    await sleep(gapMs)
  }
  return samples
}

out.on('message', (m: {start?: boolean; stop?: boolean; close?: boolean}) => {
  if (m.start) {
    running = true
    series = noops()
  } else if (m.stop) {
    running = false
    void series!.then(
      (samples) => out.postMessage({samples}),
      (err: Error) => out.postMessage({error: err.message}),
    )
  } else if (m.close) {
    socket.destroy()
    out.close()
  }
})

try {
  await greeted
  await run(`LOGIN "${user}" "${password}"`)
  await run('SELECT INBOX')
  out.postMessage({ready: true})
} catch (err) {
  out.postMessage({error: (err as Error).message})
}
