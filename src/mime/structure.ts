/**
 * The MIME structure of a raw message with byte offsets (RFC 2045/2046), computed once at
 * delivery and stored next to the blob. IMAP answers BODYSTRUCTURE from it and serves
 * BODY[1.2], BODY[1.MIME], BODY[2.HEADER] … as slices of the blob, without re-parsing.
 *
 * Part numbering follows RFC 3501 §6.4.5: the root of a non-multipart message is part 1;
 * children of a multipart are numbered from 1; a message/rfc822 part's body has its own parts.
 * Limits (depth, parts) keep hostile nesting from costing more than a bounded amount.
 */
import {headerEnd, parseHeader, parseStructured, fieldValue, type HeaderField} from './header.js'
import {buildEnvelope, type Envelope} from './envelope.js'

const MAX_DEPTH = 32
const MAX_PARTS = 2000

export interface MimePart {
  /** offset of the part's header block */
  headerStart: number
  /** offset of the body (just past the blank line) */
  bodyStart: number
  /** offset just past the body */
  bodyEnd: number
  type: string
  subtype: string
  params: Record<string, string>
  id?: string
  description?: string
  /** Content-Transfer-Encoding, lowercased; '7bit' when absent */
  encoding: string
  md5?: string
  disposition?: {value: string; params: Record<string, string>}
  language?: string
  location?: string
  /** body lines, for text/* and message/rfc822 */
  lines: number
  /** children of a multipart */
  parts?: MimePart[]
  /** for message/rfc822: the embedded message's envelope and root part */
  message?: {envelope: Envelope; root: MimePart}
}

export interface ParsedMessage {
  envelope: Envelope
  root: MimePart
  /** the root header fields, unfolded */
  header: HeaderField[]
}

export function parseMessage(raw: Buffer): ParsedMessage {
  const budget = {parts: 0}
  const {part, header} = parsePart(raw, 0, raw.length, 0, budget, false)
  return {envelope: buildEnvelope(header), root: part, header}
}

function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0
  for (let i = raw.indexOf(0x0a, start); i !== -1 && i < end; i = raw.indexOf(0x0a, i + 1)) n++
  // a final line without a line break still counts
  if (end > start && raw[end - 1] !== 0x0a) n++
  return n
}

function parsePart(raw: Buffer, start: number, end: number, depth: number, budget: {parts: number}, digestChild: boolean): {part: MimePart; header: HeaderField[]} {
  budget.parts++
  const bodyStart = headerEnd(raw, start, end)
  // RFC 6532: header fields may be UTF-8 (SMTPUTF8); offsets stay byte offsets
  const header = parseHeader(raw.toString('utf8', start, bodyStart))
  const ct = parseStructured(fieldValue(header, 'content-type') ?? (digestChild ? 'message/rfc822' : 'text/plain'))
  let [type = 'text', subtype = 'plain'] = ct.value.split('/')
  if (!type || !subtype) [type, subtype] = ['text', 'plain']
  const params = ct.params
  if (type === 'text' && !params.charset && !fieldValue(header, 'content-type')) params.charset = 'us-ascii'
  const disposition = fieldValue(header, 'content-disposition')
  const optional = <K extends string>(key: K, field: string) => {
    const v = fieldValue(header, field)
    return v === undefined ? {} : {[key]: v}
  }
  const part: MimePart = {
    headerStart: start,
    bodyStart,
    bodyEnd: end,
    type,
    subtype,
    params,
    encoding: (fieldValue(header, 'content-transfer-encoding') ?? '7bit').toLowerCase().trim(),
    ...optional('id', 'content-id'),
    ...optional('description', 'content-description'),
    ...optional('md5', 'content-md5'),
    ...optional('language', 'content-language'),
    ...optional('location', 'content-location'),
    ...(disposition ? {disposition: parseStructured(disposition)} : {}),
    lines: 0,
  }
  const deeper = depth < MAX_DEPTH && budget.parts < MAX_PARTS
  if (type === 'multipart') {
    // IMAP needs at least one child: an unparsable or too deep multipart gets an empty text part
    const ranges = params.boundary && deeper ? splitMultipart(raw, bodyStart, end, params.boundary) : []
    part.parts = ranges
      .slice(0, Math.max(0, MAX_PARTS - budget.parts))
      .map(([s, e]) => parsePart(raw, s, e, depth + 1, budget, subtype === 'digest').part)
    if (part.parts.length === 0) part.parts = [emptyTextPart(bodyStart, end)]
  } else if (type === 'message' && subtype === 'rfc822' && deeper) {
    const inner = parsePart(raw, bodyStart, end, depth + 1, budget, false)
    part.message = {envelope: buildEnvelope(inner.header), root: inner.part}
    part.lines = countLines(raw, bodyStart, end)
  } else if (type === 'text') {
    part.lines = countLines(raw, bodyStart, end)
  }
  return {part, header}
}

function emptyTextPart(at: number, end: number): MimePart {
  return {headerStart: at, bodyStart: at, bodyEnd: end, type: 'text', subtype: 'plain', params: {charset: 'us-ascii'}, encoding: '7bit', lines: 0}
}

/**
 * Finds the body ranges between `--boundary` delimiter lines. The CRLF before a delimiter
 * belongs to the delimiter (RFC 2046 §5.1.1), so it is not part of the preceding body.
 */
function splitMultipart(raw: Buffer, start: number, end: number, boundary: string): [number, number][] {
  const delimiter = Buffer.from('--' + boundary, 'latin1')
  const ranges: [number, number][] = []
  let partStart = -1
  let pos = start
  while (pos < end) {
    const at = raw.indexOf(delimiter, pos)
    if (at === -1 || at >= end) break
    const atLineStart = at === start || raw[at - 1] === 0x0a
    const after = at + delimiter.length
    const closing = raw[after] === 0x2d && raw[after + 1] === 0x2d
    // the delimiter must be followed by optional white space and the end of the line
    let lineEnd = closing ? after + 2 : after
    while (lineEnd < end && (raw[lineEnd] === 0x20 || raw[lineEnd] === 0x09)) lineEnd++
    const endsLine = lineEnd >= end || raw[lineEnd] === 0x0a || (raw[lineEnd] === 0x0d && raw[lineEnd + 1] === 0x0a)
    if (!atLineStart || !endsLine) {
      pos = after
      continue
    }
    if (partStart !== -1) {
      let bodyEnd = at
      if (raw[bodyEnd - 1] === 0x0a) bodyEnd--
      if (raw[bodyEnd - 1] === 0x0d) bodyEnd--
      ranges.push([partStart, Math.max(partStart, bodyEnd)])
    }
    if (closing) return ranges
    partStart = raw[lineEnd] === 0x0d ? lineEnd + 2 : lineEnd + 1
    pos = partStart
  }
  // no closing delimiter: the last part runs to the end (as most readers are lenient)
  if (partStart !== -1 && partStart < end) ranges.push([partStart, end])
  return ranges
}
