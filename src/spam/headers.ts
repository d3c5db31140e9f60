/**
 * The header edits of the spam check, each leaving every other byte of the message as it came:
 *  - X-Spam-* fields from outside are removed (whatever the mode but `off`): mail clients and
 *    filters trust `X-Spam-Status: Yes`/`No` and `X-Spam-Flag`, so only ours may be there;
 *  - ours, SpamAssassin-like, go on top: `X-Spam-Score: 3.5` and
 *    `X-Spam-Status: Yes, score=3.5 required=5.0 tests=A,B` (folded at the commas when long);
 *  - rspamd's "rewrite subject" replaces the Subject field's value.
 */
import {headerFields, withoutFields} from '../mail-auth/headers.js'

/** `message` without X-Spam-* fields; the same Buffer when it has none (the usual case) */
export function withoutSpamHeaders(message: Buffer): {message: Buffer; removed: number} {
  const forged = headerFields(message).filter((f) => f.name.startsWith('x-spam-'))
  return {message: withoutFields(message, forged), removed: forged.length}
}

/** RFC 5322 §2.1.1: lines of at most 78 characters */
const LINE = 78

/** our X-Spam-Score and X-Spam-Status fields, CRLF-terminated */
export function spamHeaders(spam: boolean, score: number, required: number, tests: readonly string[]): Buffer {
  const status = `X-Spam-Status: ${spam ? 'Yes' : 'No'}, score=${score.toFixed(1)} required=${required.toFixed(1)} tests=`
  const names = tests.length ? tests.map(sanitize) : ['none']
  const lines = [status]
  names.forEach((name, i) => {
    const piece = name + (i < names.length - 1 ? ',' : '')
    const line = lines.at(-1)!
    // the first name stays on the tests= line: a fold needs white space before it
    if (i > 0 && line.length + piece.length > LINE) lines.push(`\t${piece}`)
    else lines[lines.length - 1] = line + piece
  })
  return Buffer.from(`X-Spam-Score: ${score.toFixed(1)}\r\n${lines.join('\r\n')}\r\n`, 'latin1')
}

/** a symbol from rspamd is a name: nothing that could end the field or the list */
const sanitize = (name: string): string => name.replace(/[^\x21-\x7e]|,/g, '_').slice(0, 100) || '_'

/** `message` with its Subject's value replaced (added when it has none) */
export function withSubject(message: Buffer, subject: string): Buffer {
  const field = Buffer.from(`Subject: ${encodedWord(subject)}\r\n`, 'latin1')
  const fields = headerFields(message)
  const old = fields.find((f) => f.name === 'subject')
  if (!old) return Buffer.concat([field, message])
  return Buffer.concat([message.subarray(0, old.start), field, message.subarray(old.end)])
}

/** printable ASCII as it is; anything else as RFC 2047 encoded words (UTF-8, base64) */
function encodedWord(text: string): string {
  const clean = text.replace(/[\r\n]+/g, ' ').slice(0, 998)
  if (/^[\x20-\x7e]*$/.test(clean)) return clean
  // 45 bytes of UTF-8 per word keep each encoded word under 75 characters (RFC 2047 §2)
  const words: string[] = []
  let chunk = ''
  for (const ch of clean) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk)
      chunk = ''
    }
    chunk += ch
  }
  if (chunk) words.push(chunk)
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join('\r\n ')
}
