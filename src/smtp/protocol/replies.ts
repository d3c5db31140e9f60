/**
 * SMTP replies on the wire (RFC 5321 §4.2): `code SP enhanced SP text CRLF`, multi-line replies
 * with `code-` on every line but the last. Every reply the protocol layer sends names its RFC 3463
 * enhanced code itself; only a hook error whose text carries none gets one from `ENHANCED_BY_CODE`
 * (the basic code's generic meaning, as smtp-server's table), so a refusal is never mislabelled
 * by a guess once it says what it is.
 */

/** an enhanced status code at the start of a text: `5.7.1 Relaying denied` */
const HAS_ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}(?: |$)/

/** control characters would split a reply line (response splitting); sent as spaces */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g

/** RFC 3463 codes for the generic meaning of each basic code: for hook errors that give none */
const ENHANCED_BY_CODE: Record<number, string> = {
  211: '2.0.0',
  214: '2.0.0',
  220: '2.0.0',
  221: '2.0.0',
  235: '2.7.0',
  250: '2.0.0',
  251: '2.1.5',
  252: '2.1.5',
  421: '4.3.2',
  450: '4.2.1',
  451: '4.3.0',
  452: '4.2.2',
  454: '4.7.0',
  500: '5.5.2',
  501: '5.5.4',
  502: '5.5.1',
  503: '5.5.1',
  504: '5.5.4',
  530: '5.7.0',
  535: '5.7.8',
  550: '5.1.1',
  551: '5.1.6',
  552: '5.2.2',
  553: '5.1.3',
  554: '5.6.0',
  555: '5.5.4',
}

/** one reply as wire text; `text` lines become a multi-line reply, each line with the enhanced code */
export function formatReply(code: number, enhanced: string | undefined, text: string | readonly string[]): string {
  const prefix = enhanced ? ` ${enhanced} ` : ' '
  if (typeof text === 'string') return `${code}${prefix}${clean(text)}\r\n`
  let out = ''
  for (let i = 0; i < text.length; i++) out += `${code}${i < text.length - 1 ? '-' : ' '}${enhanced ? enhanced + ' ' : ''}${clean(text[i]!)}\r\n`
  return out
}

/** a hook error's reply: its own enhanced code when its text starts with one, else the table's */
export function errorReply(err: {responseCode?: unknown; message: string}, fallbackCode: number): string {
  const code = typeof err.responseCode === 'number' && err.responseCode >= 200 && err.responseCode < 600 ? err.responseCode : fallbackCode
  const text = err.message || 'Error'
  if (HAS_ENHANCED.test(text) || code === 334) return formatReply(code, undefined, text)
  return formatReply(code, ENHANCED_BY_CODE[code] ?? `${String(code)[0]}.0.0`, text)
}

function clean(line: string): string {
  CONTROL.lastIndex = 0
  return CONTROL.test(line) ? line.replace(CONTROL, ' ') : line
}
