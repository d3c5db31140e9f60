/**
 * The control socket protocol (after scamp, seed 003): newline-delimited JSON over
 * `<dataDir>/control.sock` (mode 0600, so only its owner can talk to the server).
 *
 *   → {"id": 1, "action": "server.status", "version": 1, "body": {}}
 *   ← {"id": 1, "ok": true, "body": {...}}          or  {"id": 1, "ok": false, "error": {"code", "message"}}
 *   → {"id": 2, "action": "subscribe", "version": 1, "body": {"events": ["auth.*"]}}
 *   ← {"id": 2, "ok": true, "body": {"subscribed": ["auth.*"]}}
 *   ← {"event": "auth.failed", "time": 1763790000000, "body": {...}}   (until the connection closes)
 *
 * Actions are named and versioned: a request for a version the server does not speak is an error,
 * never a guess. Only the actions in CONTROL_ACTIONS are reachable from outside the process.
 */
import {join} from 'node:path'
import type {Action} from '../bus.js'

export const PROTOCOL_VERSION = 1
export const MAX_LINE_BYTES = 1024 * 1024
/**
 * The longest reply line a client reads. Replies of the bulk queue verbs list every entry they
 * changed (about 450 bytes each: `queue flush` of 5,000 deferred entries is 2.3 MB), so they
 * grow with the queue. The socket is the server's own (mode 0600): this bound, under V8's longest
 * string, only stops a runaway, at about half a million entries.
 */
export const MAX_REPLY_BYTES = 256 * 1024 * 1024

/** bus actions exposed on the socket, with the version each speaks */
export const CONTROL_ACTIONS: Partial<Record<Action, number>> = {
  'server.status': 1,
  'acme.renew': 1,
  'mailstore.inject': 1,
  'mailstore.changedElsewhere': 1,
  'queue.retry': 1,
  'queue.hold': 1,
  'queue.release': 1,
  'queue.delete': 1,
  'queue.flush': 1,
  'queue.fail': 1,
}

export const controlSocketPath = (dataDir: string) => join(dataDir, 'control.sock')

export interface ControlRequest {
  id: number | string
  action: string
  version?: number
  body?: unknown
}

export type ControlResponse =
  | {id: number | string | null; ok: true; body: unknown}
  | {id: number | string | null; ok: false; error: {code: string; message: string}}

export interface ControlEvent {
  event: string
  time: number
  body: unknown
}

/**
 * The longest request line the server reads: large enough for `mailstore.inject` of a message of
 * `maxMessageSize` bytes (base64 makes 4 bytes of every 3, plus the envelope), never less than
 * MAX_LINE_BYTES. Bounded, so a client cannot make the server buffer without end.
 */
export function maxRequestBytes(maxMessageSize: number): number {
  return Math.max(MAX_LINE_BYTES, Math.ceil(maxMessageSize / 3) * 4 + ENVELOPE_ALLOWANCE)
}
/** room for a request's JSON around an inject's message: id, action, sender, up to thousands of recipients */
const ENVELOPE_ALLOWANCE = 1024 * 1024

/** The id of a request from the first bytes of its line (the client writes `{"id":…` first), for the reply to a line too long to parse. */
export function requestIdOf(head: Buffer): number | string | null {
  const m = /^\s*\{\s*"id"\s*:\s*(\d{1,15}|"[^"\\]{0,64}")\s*,/.exec(head.toString('latin1', 0, 128))
  return m ? (JSON.parse(m[1]!) as number | string) : null
}

/**
 * Splits a byte stream into lines of at most `maxBytes` bytes. A longer line is not kept: `onOverflow`
 * gets its first bytes (once per line) and the rest of it is skipped up to its newline, so the
 * lines after it are read as usual. Chunks are kept as they came and joined once per line (a
 * string grown chunk by chunk and searched from its start each time would cost quadratic time
 * on a line of megabytes); a newline byte never falls inside a UTF-8 character, so each line is
 * decoded whole.
 */
export function lineSplitter(onLine: (line: string) => void, onOverflow: (head: Buffer) => void, maxBytes = MAX_LINE_BYTES): (chunk: Buffer) => void {
  let parts: Buffer[] = []
  let length = 0
  let skipping = false
  return (chunk) => {
    let start = 0
    let nl: number
    while ((nl = chunk.indexOf(0x0a, start)) >= 0) {
      if (!skipping) {
        const piece = chunk.subarray(start, nl)
        const line = parts.length ? Buffer.concat([...parts, piece], length + piece.length) : piece
        if (line.length > maxBytes) onOverflow(line.subarray(0, 128))
        else {
          const text = line.toString('utf8')
          if (text.trim()) onLine(text)
        }
      }
      parts = []
      length = 0
      skipping = false
      start = nl + 1
    }
    if (skipping || start >= chunk.length) return
    const rest = chunk.subarray(start)
    parts.push(rest)
    length += rest.length
    if (length > maxBytes) {
      onOverflow(Buffer.concat(parts, Math.min(length, 128)))
      parts = []
      length = 0
      skipping = true
    }
  }
}
