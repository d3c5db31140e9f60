/**
 * Raw header handling (RFC 5322 §2.2): where the header block ends, unfolded fields, and
 * structured values with parameters (RFC 2045 §5.1, RFC 2231 continuations kept as given).
 * Values stay undecoded: IMAP hands encoded-words to clients as they are.
 */

/** Offset just past the blank line that ends the header block (or `end` when there is none). */
export function headerEnd(raw: Buffer, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    if (raw[i] !== 0x0a) continue
    // a blank first line (LF or CRLF): no header lines at all, the body starts after it
    if (i === start || (i === start + 1 && raw[start] === 0x0d)) return i + 1
    if (i + 1 < end && raw[i + 1] === 0x0a) return i + 2
    if (i + 2 < end && raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return i + 3
  }
  return end
}

export interface HeaderField {
  /** lowercase field name */
  key: string
  /** unfolded value, leading white space removed */
  value: string
}

export function parseHeader(text: string): HeaderField[] {
  const fields: HeaderField[] = []
  for (const line of text.split(/\r?\n/)) {
    if (!line) continue
    if ((line[0] === ' ' || line[0] === '\t') && fields.length) {
      fields[fields.length - 1]!.value += ' ' + line.trim()
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) continue // not a field: ignore it, as every reader does
    fields.push({key: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim()})
  }
  return fields
}

export function fieldValue(fields: HeaderField[], key: string): string | undefined {
  return fields.find((f) => f.key === key)?.value
}

export interface StructuredValue {
  value: string
  params: Record<string, string>
}

/** `text/plain; charset="utf-8"; format=flowed` → {value: 'text/plain', params: {charset: 'utf-8', format: 'flowed'}} */
export function parseStructured(input: string): StructuredValue {
  const params: Record<string, string> = {}
  let i = 0
  const skipWs = () => {
    while (i < input.length && /[\s]/.test(input[i]!)) i++
  }
  const readToken = (stops: string) => {
    const from = i
    while (i < input.length && !stops.includes(input[i]!)) i++
    return input.slice(from, i).trim()
  }
  const value = readToken(';')
  while (i < input.length) {
    i++ // ';'
    skipWs()
    const name = readToken('=;').toLowerCase()
    if (input[i] !== '=') {
      continue
    }
    i++
    skipWs()
    let v: string
    if (input[i] === '"') {
      i++
      let out = ''
      while (i < input.length && input[i] !== '"') {
        if (input[i] === '\\' && i + 1 < input.length) i++
        out += input[i++]
      }
      i++
      v = out
      readToken(';')
    } else {
      v = readToken(';')
    }
    if (name) params[name] = v
  }
  return {value: value.toLowerCase(), params}
}
