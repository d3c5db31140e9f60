/**
 * DKIM "relaxed" canonicalization (RFC 6376 §3.4.2, §3.4.4) of a message's header fields and body,
 * and the body hash. Written for bytes a client controls: every pattern is linear (runs of
 * whitespace are collapsed before anything looks at what follows them), and a long body is
 * hashed in slices with a yield to the event loop between them.
 */
import {createHash} from 'node:crypto'
import {headerEnd} from '../mime/header.js'

export interface HeaderField {
  /** lower case */
  name: string
  /** the whole field as it stands, folding included, without its final line break */
  raw: string
}

/**
 * The header fields of a message, top to bottom, and where its body starts (after the first empty
 * line, as every DKIM verifier splits). A line in the header that is no field is skipped, as the
 * MIME parser (../mime/header.ts) does.
 */
export function headerFields(message: Buffer): {fields: HeaderField[]; bodyAt: number} {
  const bodyAt = headerEnd(message, 0, message.length)
  const fields: HeaderField[] = []
  for (const line of message.toString('latin1', 0, bodyAt).split(/\r?\n/)) {
    const last = fields.at(-1)
    if (last && (line[0] === ' ' || line[0] === '\t')) last.raw += '\r\n' + line
    else {
      const colon = line.indexOf(':')
      if (colon > 0) fields.push({name: trimWsp(line.slice(0, colon)).toLowerCase(), raw: line})
    }
  }
  return {fields, bodyAt}
}

/**
 * Whitespace runs made one space, then none at the ends. Only SP and HTAB: String.trim would also
 * take a latin1 0xA0 (NBSP), which verifiers keep. Collapsing first keeps the end pattern linear.
 */
const trimWsp = (text: string) => text.replace(/[ \t]+/g, ' ').replace(/^ | $/g, '')

/** `name:value` with the name lower case, folding removed, whitespace runs one space, none at the ends */
export function relaxedHeader(raw: string): string {
  const colon = raw.indexOf(':')
  const value = raw
    .slice(colon + 1)
    .replace(/\r?\n/g, '')
  return `${trimWsp(raw.slice(0, colon)).toLowerCase()}:${trimWsp(value)}`
}

/** bytes of body hashed between two yields to the event loop */
const SLICE = 256 * 1024

const isBlank = (byte: number) => byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a

/**
 * The base64 SHA-256 of the relaxed body: whitespace runs one space, none at line ends, line
 * ends CRLF (a bare LF too: the message leaves with CRLF), empty lines at the end dropped, and a
 * non-empty body ending in CRLF.
 */
export async function relaxedBodyHash(body: Buffer): Promise<string> {
  const hash = createHash('sha256')
  // the lines after the last one with a visible character are empty once canonical: leave them out
  let last = body.length - 1
  while (last >= 0 && isBlank(body[last]!)) last--
  if (last >= 0) {
    const nl = body.indexOf(0x0a, last)
    const end = nl === -1 ? body.length : nl + 1
    for (let at = 0; at < end; ) {
      // slices end after a line break, so every line is canonicalized whole
      const cut = at + SLICE >= end ? end : body.indexOf(0x0a, at + SLICE) + 1 || end
      const text = body
        .toString('latin1', at, cut)
        .replace(/[ \t]+/g, ' ')
        .replace(/ ?\r?\n/g, '\r\n')
        .replace(/ $/, '')
      hash.update(text, 'latin1')
      if (cut === end && !text.endsWith('\r\n')) hash.update('\r\n')
      at = cut
      if (at < end) await new Promise((resolve) => setImmediate(resolve))
    }
  }
  return hash.digest('base64')
}
