/**
 * BODY[section] (RFC 3501 §6.4.5) as slices of the stored message, located by the MIME offsets
 * computed at delivery: no re-parsing, and no copy of the bytes except for HEADER.FIELDS.
 * BINARY[section] (RFC 3516) is a part's body with its Content-Transfer-Encoding removed.
 */
import {headerEnd} from '../mime/header.js'
import type {MimePart} from '../mime/structure.js'
import {decodeTransferEncoding} from '../mime/transfer-encoding.js'
import {str} from './format.js'
import {ParseError, type Node} from './parser.js'

export interface SectionSpec {
  /** part numbers, e.g. [1, 2] for "1.2"; empty for the whole message */
  path: number[]
  /** '', HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME */
  specifier: string
  fields?: string[]
  /** as echoed in the response: `1.2.HEADER.FIELDS (FROM TO)` */
  label: string
}

const SPECIFIERS = new Set(['', 'HEADER', 'HEADER.FIELDS', 'HEADER.FIELDS.NOT', 'TEXT', 'MIME'])

export function parseSection(items: Node[]): SectionSpec {
  if (!items.length) return {path: [], specifier: '', label: ''}
  const first = items[0]!
  if (first.type !== 'atom') throw new ParseError('Bad section')
  const pieces = first.value.toUpperCase().split('.')
  const path: number[] = []
  while (pieces.length && /^\d+$/.test(pieces[0]!)) {
    const n = Number(pieces.shift())
    if (n < 1) throw new ParseError('Part numbers start at 1')
    path.push(n)
  }
  const specifier = pieces.join('.')
  if (!SPECIFIERS.has(specifier) || (specifier === 'MIME' && !path.length) || first.value.endsWith('.')) throw new ParseError(`Bad section ${first.value.slice(0, 40)}`)
  let fields: string[] | undefined
  if (specifier.startsWith('HEADER.FIELDS')) {
    const list = items[1]
    if (list?.type !== 'list' || !list.items.length || items.length !== 2) throw new ParseError('HEADER.FIELDS needs a list of field names')
    fields = list.items.map((n) => {
      // RFC 5322 field names: printable ASCII but ':'; they are echoed in the response label
      if ((n.type !== 'atom' && n.type !== 'string') || !/^[\x21-\x39\x3b-\x7e]+$/.test(n.value)) throw new ParseError('Bad header field name')
      return n.value
    })
  } else if (items.length !== 1) {
    throw new ParseError('Bad section')
  }
  const label = [path.join('.'), specifier].filter(Boolean).join('.') + (fields ? ` (${fields.map(fieldLabel).join(' ')})` : '')
  return {path, specifier, ...(fields ? {fields} : {}), label}
}

/** a field name as echoed in the response: an atom when it can be one, a quoted string otherwise (`a)]x`) */
function fieldLabel(name: string): string {
  return /^[!#$&'+,\-.0-9;<=>?@A-Z^_`a-z|~]+$/.test(name) ? name.toUpperCase() : str(name.toUpperCase())
}

/** part n of a message whose root part is `root` */
function partOfMessage(root: MimePart, n: number): MimePart | undefined {
  if (root.parts) return root.parts[n - 1]
  return n === 1 ? root : undefined
}

function child(part: MimePart, n: number): MimePart | undefined {
  if (part.parts) return part.parts[n - 1]
  if (part.message) return partOfMessage(part.message.root, n)
  return undefined
}

/** the part at `path` ([1, 2] for "1.2"); the whole message (undefined) for an empty path, null when there is no such part */
function findPart(root: MimePart, path: number[]): MimePart | undefined | null {
  let part: MimePart | undefined
  for (const n of path) {
    part = part ? child(part, n) : partOfMessage(root, n)
    if (!part) return null
  }
  return part
}

/** `<start.length>` of a section (RFC 3501 §6.4.5): the bytes there, as many as there are */
export const byteRange = (bytes: Buffer, [start, length]: [number, number]): Buffer => bytes.subarray(Math.min(start, bytes.length), Math.min(bytes.length, start + length))

/** does the message have the part at `path` (an empty path: the message itself)? */
export const hasPart = (root: MimePart, path: number[]): boolean => findPart(root, path) !== null

/**
 * The section's bytes, or an empty buffer when the message has no such part. `root` (the stored
 * structure) is needed only for a section with part numbers: where the whole message's header ends
 * is found in its bytes, as parseMessage finds it (decoding the stored structure of every message
 * was most of the time of a `FETCH 1:* BODY.PEEK[HEADER]`).
 */
export function sectionBytes(raw: Buffer, root: MimePart | undefined, spec: SectionSpec): Buffer {
  if (spec.path.length && !root) throw new Error('sectionBytes: a section with part numbers needs the structure')
  const part = spec.path.length ? findPart(root!, spec.path) : undefined
  if (part === null) return Buffer.alloc(0)
  if (spec.specifier === '') return part ? raw.subarray(part.bodyStart, part.bodyEnd) : raw
  if (spec.specifier === 'MIME') return raw.subarray(part!.headerStart, part!.bodyStart)
  // HEADER and TEXT apply to a message: the whole one, or an attached message/rfc822
  const message = part ? part.message?.root : (root ?? wholeMessage(raw))
  if (!message) return Buffer.alloc(0)
  if (spec.specifier === 'TEXT') return raw.subarray(message.bodyStart, message.bodyEnd)
  const header = raw.subarray(message.headerStart, message.bodyStart)
  if (spec.specifier === 'HEADER') return header
  return filterHeader(header, spec.fields!, spec.specifier === 'HEADER.FIELDS.NOT')
}

/** the whole message's header and body bounds, as parseMessage's root part has them */
function wholeMessage(raw: Buffer): Pick<MimePart, 'headerStart' | 'bodyStart' | 'bodyEnd'> {
  return {headerStart: 0, bodyStart: headerEnd(raw, 0, raw.length), bodyEnd: raw.length}
}

/** BINARY's section (RFC 3516 §4.2: `section-binary = "[" [section-part] "]"`): part numbers only */
export function parseBinarySection(items: Node[]): SectionSpec {
  if (!items.length) return {path: [], specifier: '', label: ''}
  const first = items[0]!
  if (items.length !== 1 || first.type !== 'atom' || !/^[1-9]\d{0,8}(?:\.[1-9]\d{0,8})*$/.test(first.value)) throw new ParseError('Bad BINARY section')
  return {path: first.value.split('.').map(Number), specifier: '', label: first.value}
}

/** a part whose Content-Transfer-Encoding this server cannot remove (answered NO [UNKNOWN-CTE]) */
export class UnknownCteError extends Error {}

/**
 * BINARY[section]: the part's body decoded; the whole message as it is for an empty section,
 * an empty buffer when there is no such part.
 */
export function binarySectionBytes(raw: Buffer, root: MimePart, path: number[]): Buffer {
  const part = findPart(root, path)
  if (part === null) return Buffer.alloc(0)
  if (!part) return raw
  const body = raw.subarray(part.bodyStart, part.bodyEnd)
  const decoded = decodeTransferEncoding(body, part.encoding)
  if (!decoded) throw new UnknownCteError(`Unknown Content-Transfer-Encoding ${JSON.stringify(part.encoding.slice(0, 40))} in part ${path.join('.')}`)
  return decoded
}

/** the header fields named (or, with `exclude`, not named), folding kept, with the blank line that ends a header */
export function filterHeader(header: Buffer, names: string[], exclude: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()))
  const lines = header.toString('latin1').split(/(?<=\n)/)
  let out = ''
  let keep = false
  for (const line of lines) {
    if (line === '\r\n' || line === '\n') break
    if (line[0] !== ' ' && line[0] !== '\t') {
      const colon = line.indexOf(':')
      const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : ''
      keep = !!name && wanted.has(name) !== exclude
    }
    if (keep) out += line.endsWith('\n') ? line : line + '\r\n'
  }
  return Buffer.from(out + '\r\n', 'latin1')
}
