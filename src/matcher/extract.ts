/**
 * What test runners dig out of mails by hand: links (from the text and the HTML) and likely
 * one-time codes (4–8 digit numbers, or short letter-and-digit tokens, near words such as
 * "code", "token" or "verify").
 */
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+/gi
const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi
const KEYWORD = /\b(?:code|codes|token|verify|verification|verifying|otp|pin|passcode|one[- ]time|2fa|confirm|confirmation|security|login)\b/gi
const DIGITS = /\b\d{4,8}\b/g
const TOKEN = /\b(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{4,12}\b/g
/** how far from a keyword (in characters) a candidate may stand */
const NEAR = 80

const NAMED: Record<string, string> = {amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' '}
const codePoint = (n: number) => (n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : '')
/** one pass, so `&amp;#60;` becomes `&#60;`, not `<` */
const decodeEntities = (s: string) =>
  s.replace(/&(?:#x([0-9a-f]+)|#(\d+)|([a-z]+));/gi, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) =>
    hex ? codePoint(parseInt(hex, 16)) : dec ? codePoint(Number(dec)) : (NAMED[name!.toLowerCase()] ?? whole),
  )

const trimUrl = (u: string) => u.replace(/[).,;:!?\]}>]+$/, '')

export function extractLinks(text: string, html: string): string[] {
  const links: string[] = []
  for (const m of html.matchAll(HREF)) {
    const href = decodeEntities((m[1] ?? m[2] ?? m[3] ?? '').trim())
    if (/^https?:\/\//i.test(href)) links.push(href)
  }
  for (const m of text.matchAll(URL_IN_TEXT)) links.push(trimUrl(m[0]))
  for (const m of htmlToText(html).matchAll(URL_IN_TEXT)) links.push(trimUrl(m[0]))
  return [...new Set(links)]
}

export function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]+>/g, ' '),
  )
}

export function extractCodes(text: string): string[] {
  const keywords = [...text.matchAll(KEYWORD)].map((m) => m.index!)
  if (keywords.length === 0) return []
  const near = (at: number) => keywords.some((k) => Math.abs(k - at) <= NEAR)
  const found: {at: number; code: string}[] = []
  for (const re of [DIGITS, TOKEN]) {
    for (const m of text.matchAll(re)) {
      if (near(m.index!) && !/^(?:code|token|verify|https?)$/i.test(m[0])) found.push({at: m.index!, code: m[0]})
    }
  }
  // digits first (the usual shape), then in order of appearance
  found.sort((a, b) => Number(/^\d+$/.test(b.code)) - Number(/^\d+$/.test(a.code)) || a.at - b.at)
  return [...new Set(found.map((f) => f.code))]
}
