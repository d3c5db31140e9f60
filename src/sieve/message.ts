/**
 * The message as Sieve tests see it: header fields by name with RFC 2047 words decoded
 * (RFC 5228 §2.7.2), addresses split into their parts (§2.7.4, RFC 5233 subaddresses), the body
 * as raw text or as decoded MIME parts (RFC 5173). Parsed lazily, once per run, and bounded: only
 * the first maxHeaderBytes of the header and maxBodyBytes of body text are ever looked at.
 */
import type Libmime from 'libmime'
import {lazyRequire} from '../lazy-require.js'
import {parseAddressList} from '../mime/address-list.js'
import {crlfInfo} from '../mime/crlf.js'
import {headerEnd, parseHeader} from '../mime/header.js'
import {parseMessage, type MimePart} from '../mime/structure.js'
import {decodeTransferEncoding} from '../mime/transfer-encoding.js'
import type {SieveLimits} from './limits.js'

let libmime: typeof Libmime | undefined

export function decodeHeaderWords(value: string): string {
  if (!value.includes('=?')) return value
  const mime = (libmime ??= lazyRequire<typeof Libmime>('libmime'))
  try {
    return mime.decodeWords(value)
  } catch {
    return value // a malformed encoded-word is compared as it came
  }
}

export interface AddressParts {
  all: string
  localpart: string
  domain: string
}

/** RFC 5233: the separator between user and detail */
export const SUBADDRESS_SEPARATOR = '+'

export function addressPart(a: AddressParts, part: string): string | undefined {
  switch (part) {
    case 'localpart':
      return a.localpart
    case 'domain':
      return a.domain
    case 'user': {
      const at = a.localpart.indexOf(SUBADDRESS_SEPARATOR)
      return at === -1 ? a.localpart : a.localpart.slice(0, at)
    }
    case 'detail': {
      // no separator: there is no detail, and the address takes no part in the test (RFC 5233 §4)
      const at = a.localpart.indexOf(SUBADDRESS_SEPARATOR)
      return at === -1 ? undefined : a.localpart.slice(at + 1)
    }
    default:
      return a.all
  }
}

/** an envelope address (no display name, no comments): split at the last "@" */
export function splitAddress(address: string): AddressParts {
  const at = address.lastIndexOf('@')
  if (at === -1) return {all: address, localpart: address, domain: ''}
  return {all: address, localpart: address.slice(0, at), domain: address.slice(at + 1)}
}

export class SieveMessage {
  private fields?: Map<string, string[]>
  private decoded = new Map<string, string[]>()
  private parsedAddresses = new Map<string, AddressParts[]>()
  private structure?: MimePart
  private bodies = new Map<string, string[]>()

  constructor(
    readonly raw: Buffer,
    private readonly limits: SieveLimits,
  ) {}

  private crlfSize?: number

  /** the size in its CRLF form, as the message is on the SMTP wire (RFC 5228 §5.9) */
  get size(): number {
    return (this.crlfSize ??= crlfInfo(this.raw).size)
  }

  /** field values by lowercase name, in order: built once, so each test costs its own fields only */
  private header(): Map<string, string[]> {
    if (!this.fields) {
      const end = Math.min(headerEnd(this.raw, 0, this.raw.length), this.limits.maxHeaderBytes)
      this.fields = new Map()
      for (const f of parseHeader(this.raw.toString('utf8', 0, end))) {
        const list = this.fields.get(f.key)
        if (list) list.push(f.value)
        else this.fields.set(f.key, [f.value])
      }
    }
    return this.fields
  }

  /** raw (undecoded, unfolded) values of a field, in order */
  rawValues(name: string): string[] {
    return this.header().get(name.toLowerCase()) ?? []
  }

  values(name: string): string[] {
    const key = name.toLowerCase()
    let decoded = this.decoded.get(key)
    if (!decoded) this.decoded.set(key, (decoded = this.rawValues(key).map(decodeHeaderWords)))
    return decoded
  }

  addresses(name: string): AddressParts[] {
    const key = name.toLowerCase()
    let parsed = this.parsedAddresses.get(key)
    if (!parsed) this.parsedAddresses.set(key, (parsed = this.parseAddresses(key)))
    return parsed
  }

  private parseAddresses(name: string): AddressParts[] {
    const out: AddressParts[] = []
    for (const value of this.rawValues(name)) {
      for (const a of parseAddressList(value)) {
        if (a.host === undefined) continue // group markers
        const localpart = a.mailbox ?? ''
        out.push({all: a.host ? `${localpart}@${a.host}` : localpart, localpart, domain: a.host})
      }
    }
    return out
  }

  /**
   * The texts the body test compares (RFC 5173): "raw" is the undecoded body; otherwise the
   * transfer-decoded, charset-decoded leaf parts whose type is one of `types` ("text" is every
   * text/*, "" every part); `text` turns HTML into text.
   */
  body(transform: 'raw' | 'content' | 'text', types: string[] = []): string[] {
    const cacheKey = transform + '\0' + types.join('\0')
    const cached = this.bodies.get(cacheKey)
    if (cached) return cached
    let budget = this.limits.maxBodyBytes
    const take = (s: string) => {
      const piece = s.length > budget ? s.slice(0, budget) : s
      budget -= piece.length
      return piece
    }
    let out: string[]
    if (transform === 'raw') {
      const start = headerEnd(this.raw, 0, this.raw.length)
      out = [take(this.raw.toString('utf8', start, Math.min(this.raw.length, start + this.limits.maxBodyBytes)))]
    } else {
      this.structure ??= parseMessage(this.raw).root
      const wanted = transform === 'text' ? ['text'] : types.map((t) => t.toLowerCase())
      out = []
      const visit = (part: MimePart) => {
        if (budget <= 0) return
        if (part.parts) return part.parts.forEach(visit)
        if (part.message) return visit(part.message.root)
        const type = `${part.type}/${part.subtype}`
        if (!wanted.some((w) => w === '' || w === part.type || w === type)) return
        const end = Math.min(part.bodyEnd, part.bodyStart + budget * 4 + 4)
        const bytes = decodeTransferEncoding(this.raw.subarray(part.bodyStart, end), part.encoding) ?? this.raw.subarray(part.bodyStart, end)
        let text = part.type === 'text' ? decodeCharset(bytes, part.params.charset) : bytes.toString('latin1')
        if (transform === 'text' && part.subtype === 'html') text = htmlToText(text)
        out.push(take(text))
      }
      visit(this.structure)
    }
    this.bodies.set(cacheKey, out)
    return out
  }
}

function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  // unlabelled 8-bit text (the us-ascii default) is nearly always UTF-8 nowadays
  if (!charset || /^(us-)?ascii$/i.test(charset)) {
    try {
      return new TextDecoder('utf-8', {fatal: true}).decode(bytes)
    } catch {
      return bytes.toString('latin1')
    }
  }
  try {
    return new TextDecoder(charset || 'us-ascii').decode(bytes)
  } catch {
    return bytes.toString('utf8') // an unknown charset: the best guess
  }
}

const INLINE_TAGS = new Set(['a', 'b', 'i', 'u', 's', 'em', 'strong', 'span', 'font', 'small', 'big', 'code', 'sub', 'sup', 'abbr'])

/** tags dropped (block tags become a space, inline ones nothing), the common entities resolved; one linear pass */
export function htmlToText(html: string): string {
  let out = ''
  let tagStart = -1
  for (let i = 0; i < html.length; i++) {
    const c = html[i]!
    if (tagStart >= 0) {
      if (c === '>') {
        const name = /^\/?([a-z0-9]*)/i.exec(html.slice(tagStart + 1, Math.min(i, tagStart + 12)))![1]!.toLowerCase()
        if (!INLINE_TAGS.has(name)) out += ' '
        tagStart = -1
      }
    } else if (c === '<') tagStart = i
    else out += c
  }
  return out
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
}
