/**
 * How the queue knows a message is one of our TLS reports, which RFC 8460 §5.3 wants sent
 * whatever the TLS (no MTA-STS policy applied) and not counted: its Message-ID carries a MAC under
 * an installation secret (`store.settings.secret('tls-rpt')`). The sender address and the
 * TLS-Report-Submission field alone were not enough: a user who may send as that address could
 * add the field to any mail and so send it without the protection of the recipient's policy.
 */
import {createHmac, randomBytes, timingSafeEqual} from 'node:crypto'

const MARKED = /^Message-ID:[ \t]*<tlsrpt\.([0-9a-f]{32})\.([0-9a-f]{32})@[^>\r\n]*>/im

const macOf = (secret: Buffer, nonce: string) => createHmac('sha256', secret).update(`tlsrpt ${nonce}`).digest('hex').slice(0, 32)

/** a fresh Message-ID (without brackets) that `isMarked` recognises under the same secret */
export function markedMessageId(secret: Buffer, hostname: string): string {
  const nonce = randomBytes(16).toString('hex')
  return `tlsrpt.${nonce}.${macOf(secret, nonce)}@${hostname}`
}

/** whether the header section holds a Message-ID made by markedMessageId under `secret` */
export function isMarked(secret: Buffer, header: string): boolean {
  const m = MARKED.exec(header)
  if (!m) return false
  return timingSafeEqual(Buffer.from(macOf(secret, m[1]!)), Buffer.from(m[2]!))
}
