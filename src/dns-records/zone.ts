/**
 * DNS records as zone-file lines (RFC 1035 §5.1): `name. TTL IN TYPE data`, names absolute, TXT
 * data quoted and split into character-strings of at most 255 bytes (an RSA-2048 DKIM key is
 * longer), each record preceded by a `;` comment saying what it is for.
 */
import type {DnsRecord} from './records.js'

/** the longest character-string a TXT record can hold (its length is one byte) */
export const MAX_CHARACTER_STRING = 255

/** `text` as quoted character-strings of at most 255 bytes; `"` and `\` escaped, bytes outside printable ASCII as \DDD */
export function quoteTxt(text: string): string {
  const bytes = Buffer.from(text, 'utf8')
  const parts: string[] = []
  for (let start = 0; start < bytes.length || parts.length === 0; start += MAX_CHARACTER_STRING) {
    let out = ''
    for (const byte of bytes.subarray(start, start + MAX_CHARACTER_STRING)) {
      if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`
      else if (byte < 0x20 || byte > 0x7e) out += `\\${String(byte).padStart(3, '0')}`
      else out += String.fromCharCode(byte)
    }
    parts.push(`"${out}"`)
  }
  return parts.join(' ')
}

export function zoneLine(record: DnsRecord): string {
  return `${record.name}. ${record.ttl} IN ${record.type} ${record.type === 'TXT' ? quoteTxt(record.value) : record.value}`
}

/** the records as a zone-file fragment, `header` lines first, each record under its purpose */
export function zoneText(records: DnsRecord[], header: string[] = []): string {
  const lines = header.map((line) => `; ${line}`)
  let previous: DnsRecord | undefined
  for (const record of records) {
    // records of one purpose (the host's A and AAAA) stay together under one comment
    if (record.purpose !== previous?.purpose || record.note) {
      lines.push('', `; ${record.purpose}${record.required ? '' : ' (recommended)'}`)
      if (record.note) lines.push(...record.note.split('\n').map((line) => `; ${line}`))
    }
    lines.push(zoneLine(record))
    previous = record
  }
  return lines.join('\n')
}
