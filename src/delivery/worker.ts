/**
 * The sender thread (see ./sender-thread.ts): every outbound SMTP connection lives here, so the
 * conversation, the TLS, the dot-stuffing and the socket writes of delivery take a core the
 * IMAP, POP3 and SMTP sessions on the main thread do not wait for. The queue's bookkeeping (claims,
 * outcomes, bounces) stays on the main thread with the store; this thread has no store at all.
 */
import {readlinkSync} from 'node:fs'
import {setPriority} from 'node:os'
import {parentPort, workerData} from 'node:worker_threads'
import {Deliverer} from './deliverer.js'
import {bufferOf} from '../movable.js'
import {forwardWarnings} from '../worker-warnings.js'
import {trustWith} from './relay.js'
import type {SenderSetup, ToSender, FromSender} from './sender-thread.js'
import type {ClientOptions} from './smtp-client.js'

const clientOf = ({client, trustedCa, stsTrustedCa}: SenderSetup): ClientOptions => ({
  ...client,
  ...(trustedCa ? {verifyContext: trustWith(trustedCa)} : {}),
  ...(stsTrustedCa ? {stsContext: trustWith(stsTrustedCa)} : {}),
})

const setup = workerData as SenderSetup
lowerPriority(setup.nice)
forwardWarnings(parentPort!)
const deliverer = new Deliverer(setup.route, clientOf(setup))
const reply = (msg: FromSender) => parentPort!.postMessage(msg)

parentPort!.on('message', (msg: ToSender) => {
  switch (msg.type) {
    case 'attempt': {
      const {n, job, session} = msg
      deliverer.attempt({...job, message: bufferOf(job.message)}, session).then(
        (outcome) => reply({n, outcome}),
        (err: unknown) => reply({n, error: err instanceof Error ? err.message : String(err)}),
      )
      return
    }
    case 'close':
      return deliverer.close(msg.session)
    case 'configure':
      return deliverer.configure(msg.setup.route, clientOf(msg.setup))
    case 'stop':
      // QUIT on every kept connection, then let the main thread end this thread
      deliverer.closeAll()
      return reply({stopped: true})
  }
})

/**
 * Delivery is bulk work and nobody waits on it by the millisecond; an IMAP client does. On Linux a
 * nice value belongs to a thread (setpriority on its thread id), so this thread alone yields the
 * cores to the event loop when both want them. Elsewhere (no /proc/thread-self) it stays as it is.
 */
function lowerPriority(nice: number): void {
  if (nice <= 0) return
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (tid > 0) setPriority(tid, nice)
  } catch {
    // not Linux, or no /proc: the thread keeps the process's priority
  }
}
