/**
 * Node's process warnings raised on a worker thread (an insecure TLS setting met by the thread's
 * first TLS connection, a deprecation in a library it runs) go to the main thread, which logs
 * them like its own (log.ts: logProcessWarnings), instead of Node's plain-text print on stderr.
 */
import type {MessagePort} from 'node:worker_threads'

export interface ThreadWarning {
  name: string
  message: string
  code?: string
  detail?: string
}

/** In the thread: Node's printer set aside, every warning posted as `{warning}`. */
export function forwardWarnings(port: MessagePort): void {
  for (const printer of process.listeners('warning')) process.off('warning', printer)
  process.on('warning', ({name, message, code, detail}: Error & {code?: string; detail?: string}) => {
    port.postMessage({warning: {name, message, ...(code ? {code} : {}), ...(detail ? {detail} : {})} satisfies ThreadWarning})
  })
}

/** On the main thread: a forwarded warning raised again, for the process's own listeners. */
export function raiseWarning({name, message, code, detail}: ThreadWarning): void {
  process.emitWarning(message, {type: name, ...(code ? {code} : {}), ...(detail ? {detail} : {})})
}
