/**
 * The header edits inbound authentication makes, each leaving every other byte of the message
 * as it came:
 *  - Authentication-Results fields from outside that claim our authserv-id are removed
 *    (RFC 8601 §5: a receiver must not let others speak in its name);
 *  - DKIM signatures beyond the configured number are hidden from the verifier (renamed in the
 *    copy it reads, never in the stored message), so a message with thousands of them cannot make
 *    it hash the body thousands of times.
 */

export interface Field {
  /** lower case */
  name: string
  start: number
  /** after the field's last line break */
  end: number
}

/** The header fields of `message` (up to the empty line), without copying it. */
export function headerFields(message: Buffer): Field[] {
  return scanHeader(message).fields
}

export interface ScannedHeader {
  fields: Field[]
  /** after the empty line, or -1 when there is none */
  bodyStart: number
}

/**
 * The header fields, and where the body starts: after the empty line, or -1 when there is none
 * (the message is all header, or a line that is not a field ends it).
 */
export function scanHeader(message: Buffer): ScannedHeader {
  const fields: Field[] = []
  let at = 0
  while (at < message.length) {
    const nl = message.indexOf(0x0a, at)
    const end = nl === -1 ? message.length : nl + 1
    const first = message[at]
    if (first === 0x0d || first === 0x0a) return {fields, bodyStart: nl === -1 ? -1 : end} // the empty line: the body follows
    const last = fields.at(-1)
    if ((first === 0x20 || first === 0x09) && last) {
      last.end = end // a folded continuation line
    } else {
      const colon = message.indexOf(0x3a, at)
      if (colon === -1 || colon >= end) break // not a header field: the header is over
      fields.push({name: message.toString('latin1', at, colon).trim().toLowerCase(), start: at, end})
    }
    at = end
  }
  return {fields, bodyStart: -1}
}

/** the fields whose verification hashes the body: DKIM signatures and ARC's seal and message signature */
const BODY_SIGNATURES = new Set(['dkim-signature', 'arc-seal', 'arc-message-signature'])

/**
 * The length of `start`'s header block with its empty line when the message carries no field
 * whose verification needs the body, else 0. Without one, SPF, DKIM (none), DMARC and ARC (none)
 * come out the same from the header alone, so the verifier gets only that: most mail from outside
 * is unsigned, and its body is most of the bytes to move and scan.
 */
export function unsignedHeaderLength(start: Buffer, {fields, bodyStart}: ScannedHeader = scanHeader(start)): number {
  return bodyStart > 0 && !fields.some((f) => BODY_SIGNATURES.has(f.name)) ? bodyStart : 0
}

/**
 * The authserv-id an Authentication-Results field value names (RFC 8601 §2.2: the first token,
 * after any comments and folding white space), lower case and without a trailing dot.
 */
export function authservIdOf(value: string): string {
  let rest = value
  for (;;) {
    rest = rest.replace(/^[\s]+/, '')
    if (!rest.startsWith('(')) break
    rest = rest.slice(commentLength(rest))
  }
  return (/^[^\s;()]*/.exec(rest)?.[0] ?? '').toLowerCase().replace(/\.$/, '')
}

/** the length of the (possibly nested, escaped) comment `text` starts with */
function commentLength(text: string): number {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '\\') i++
    else if (c === '(') depth++
    else if (c === ')' && --depth === 0) return i + 1
  }
  return text.length
}

/**
 * `message` without the Authentication-Results fields that claim `authservId`; the same Buffer
 * when there are none (the usual case: nothing is copied). `fields`: its header fields when the
 * caller has them already.
 */
export function withoutForgedResults(message: Buffer, authservId: string, fields = headerFields(message)): {message: Buffer; removed: number} {
  const ours = authservId.toLowerCase().replace(/\.$/, '')
  const forged = fields.filter((f) => {
    if (f.name !== 'authentication-results') return false
    const value = message.toString('latin1', message.indexOf(0x3a, f.start) + 1, f.end)
    return authservIdOf(value) === ours
  })
  return {message: withoutFields(message, forged), removed: forged.length}
}

/** `message` without `fields` (from headerFields, in order); the same Buffer when there are none */
export function withoutFields(message: Buffer, fields: readonly Field[]): Buffer {
  if (!fields.length) return message
  const kept: Buffer[] = []
  let at = 0
  for (const f of fields) {
    kept.push(message.subarray(at, f.start))
    at = f.end
  }
  kept.push(message.subarray(at))
  return Buffer.concat(kept)
}

/** same length as "DKIM-Signature", so the header keeps its shape */
const HIDDEN_SIGNATURE = Buffer.from('X-DKIM-Ignored', 'latin1')

/**
 * What the DKIM verifier reads: `message` itself, or, when it carries more than `max`
 * DKIM-Signature fields, a copy with those after the first `max` renamed.
 */
export function withSignatureLimit(message: Buffer, max: number): {message: Buffer; hidden: number} {
  const signatures = headerFields(message).filter((f) => f.name === 'dkim-signature')
  if (signatures.length <= max) return {message, hidden: 0}
  const copy = Buffer.from(message)
  for (const f of signatures.slice(max)) HIDDEN_SIGNATURE.copy(copy, f.start)
  return {message: copy, hidden: signatures.length - max}
}
