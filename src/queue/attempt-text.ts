/** A delivery attempt as text, for `queue show` and the dashboard's detail view: a heading, then the transcript. */
import {describeTls} from '../delivery/outbound-tls.js'
import type {DeliveryAttemptRecord} from '../store/records.js'

export function attemptText(a: DeliveryAttemptRecord, time: (ms: number) => string): string[] {
  const tls = a.tls ? `, tls ${describeTls(a.tls)}` : ''
  return [`attempt ${a.attempt} at ${time(a.startedAt)} to ${a.host || '-'}: ${a.result}${tls}`, ...a.transcript.map((l) => `  ${l}`)]
}
