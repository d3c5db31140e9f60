/**
 * STAND-IN for Contract 2 (src/srs/index.ts, helper D's branch h21-srs): replaced by the real
 * module when that branch is merged. Same signature; a simplified SRS0 form.
 */
import {createHmac} from 'node:crypto'

export function srsForward(sender: string, domain: string, secret: Buffer, now = Date.now()): string {
  const at = sender.lastIndexOf('@')
  const local = sender.slice(0, at)
  const host = sender.slice(at + 1)
  const tt = Math.floor(now / 86_400_000) % 1024
  const ts = String.fromCharCode(65 + (tt >> 5)) + String.fromCharCode(65 + (tt & 31))
  const hash = createHmac('sha1', secret).update(`${ts}${host}${local}`.toLowerCase()).digest('base64').slice(0, 4)
  return `SRS0=${hash}=${ts}=${host}=${local}@${domain}`
}
