/** The little XML these documents need: escaping text we write, and reading one element's text from a request. */

const ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;'}

/** text or an attribute value, safe inside elements and quoted attributes */
export const xmlText = (value: string | number): string => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!)

const NAMED: Record<string, string> = {amp: '&', lt: '<', gt: '>', quot: '"', apos: "'"}

/** the five predefined entities and character references; anything else (an entity a DTD would define) is refused */
export function xmlDecode(text: string): string | undefined {
  let bad = false
  const out = text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,4});|&/gi, (whole, ref: string | undefined) => {
    if (!ref) return ((bad = true), whole)
    if (ref[0] !== '#') return NAMED[ref] ?? ((bad = true), whole)
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
    if (code > 0x10ffff || code === 0) return ((bad = true), whole)
    return String.fromCodePoint(code)
  })
  return bad ? undefined : out
}
