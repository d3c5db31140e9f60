/**
 * RFC 2231 parameter continuations joined, as RFC 9051 §7.5.2 asks of BODYSTRUCTURE:
 * `name*0="a"; name*1="b"` is the parameter `name` = "ab". When a segment is extended
 * (`name*0*=utf-8''%E2%82%AC`), the joined parameter is `name*` with the extended value still
 * encoded (charset'language'%XX…, plain segments percent-encoded to match), as Dovecot gives it:
 * decoding it to UTF-8 would make it unreadable to a client that decodes `name*` itself. A set
 * of segments that does not run 0, 1, 2 … without a gap, or whose joined name is also given
 * directly, is left as the message has it.
 */

const SEGMENT = /^(.+?)\*(\d{1,3})(\*?)$/

/** `params` with each complete set of continuations joined into one parameter, where its segment 0 stood */
export function joinContinuations(params: Record<string, string>): Record<string, string> {
  const groups = new Map<string, {index: number; extended: boolean; value: string}[]>()
  for (const [key, value] of Object.entries(params)) {
    const m = SEGMENT.exec(key)
    if (!m) continue
    const list = groups.get(m[1]!) ?? []
    list.push({index: Number(m[2]), extended: m[3] === '*', value})
    groups.set(m[1]!, list)
  }
  if (!groups.size) return params
  // a Map: the names come from the message, and one may be `__proto__`
  const joined = new Map<string, string>()
  for (const [key, value] of Object.entries(params)) {
    const m = SEGMENT.exec(key)
    const segments = m && groups.get(m[1]!)
    if (!m || !segments || !joinable(m[1]!, segments, params)) {
      joined.set(key, value)
      continue
    }
    if (Number(m[2]) !== 0) continue // joined at segment 0
    segments.sort((a, b) => a.index - b.index)
    const extended = segments.some((s) => s.extended)
    const parts = segments.map((s, i) => (!extended || s.extended ? s.value : (i === 0 ? "''" : '') + percentEncode(s.value)))
    joined.set(extended ? `${m[1]}*` : m[1]!, parts.join(''))
  }
  return Object.fromEntries(joined)
}

function joinable(name: string, segments: {index: number}[], params: Record<string, string>): boolean {
  if (Object.hasOwn(params, name) || Object.hasOwn(params, `${name}*`)) return false
  const seen = new Set(segments.map((s) => s.index))
  return seen.size === segments.length && segments.every((s) => s.index < segments.length)
}

/** RFC 2231 §7 attribute-char: everything else is %XX (UTF-8 bytes) */
const percentEncode = (text: string): string =>
  [...Buffer.from(text)].map((b) => (b > 0x20 && b < 0x7f && !`*'%()<>@,;:\\"/[]?=`.includes(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('')
