/**
 * IMAP's modified UTF-7 for mailbox names (RFC 3501 §5.1.3): printable ASCII stands for itself
 * ("&" is "&-"), anything else is UTF-16BE in base64 with "," for "/", between "&" and "-".
 * Folders are stored with UTF-8 names; only the IMAP edge converts.
 */

const isDirect = (code: number) => code >= 0x20 && code <= 0x7e

export function encodeMailboxName(name: string): string {
  let out = ''
  let i = 0
  while (i < name.length) {
    const code = name.charCodeAt(i)
    if (isDirect(code)) {
      out += code === 0x26 ? '&-' : name[i]
      i++
      continue
    }
    let j = i
    while (j < name.length && !isDirect(name.charCodeAt(j))) j++
    const utf16 = Buffer.alloc((j - i) * 2)
    for (let k = i; k < j; k++) utf16.writeUInt16BE(name.charCodeAt(k), (k - i) * 2)
    out += '&' + utf16.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-'
    i = j
  }
  return out
}

/** Decodes a modified UTF-7 name; throws on a malformed one (a client bug, answered with NO). */
export function decodeMailboxName(input: string): string {
  if (!input.includes('&')) return input
  return input.replace(/&([^-]*)-?/g, (match, b64: string) => {
    if (!match.endsWith('-')) throw new Error('unterminated modified UTF-7 sequence')
    if (b64 === '') return '&'
    if (!/^[A-Za-z0-9+,]+$/.test(b64)) throw new Error('bad modified UTF-7 sequence')
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64')
    if (bytes.length % 2) throw new Error('bad modified UTF-7 sequence')
    let s = ''
    for (let k = 0; k < bytes.length; k += 2) s += String.fromCharCode(bytes.readUInt16BE(k))
    // only the one canonical spelling: no empty run, no encoded printable ASCII, no stray padding bits
    if (encodeMailboxName(s) !== match) throw new Error('non-canonical modified UTF-7 sequence')
    // and real text: a lone UTF-16 surrogate has no UTF-8 form (the store would keep U+FFFD)
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)) throw new Error('modified UTF-7 sequence with an unpaired surrogate')
    return s
  })
}
