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
import {StringDecoder} from 'node:string_decoder'
import type {Action} from '../bus.js'

export const PROTOCOL_VERSION = 1
export const MAX_LINE_BYTES = 1024 * 1024

/** bus actions exposed on the socket, with the version each speaks */
export const CONTROL_ACTIONS: Partial<Record<Action, number>> = {
  'server.status': 1,
  'mailstore.inject': 1,
  'queue.retry': 1,
  'queue.hold': 1,
  'queue.release': 1,
  'queue.delete': 1,
  'queue.flush': 1,
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

/** Splits a byte stream into lines; calls `onOverflow` (once) when a line exceeds the limit. */
export function lineSplitter(onLine: (line: string) => void, onOverflow: () => void): (chunk: Buffer) => void {
  let buffered = ''
  // a multi-byte UTF-8 character may be split across chunks: the decoder holds its first bytes back
  const decoder = new StringDecoder('utf8')
  return (chunk) => {
    buffered += decoder.write(chunk)
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (line.trim()) onLine(line)
    }
    if (buffered.length > MAX_LINE_BYTES) {
      buffered = ''
      onOverflow()
    }
  }
}
