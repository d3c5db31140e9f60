/**
 * Message flags in the two file formats, both ways.
 *
 * Maildir (https://cr.yp.to/proto/maildir.html, Dovecot's reading): the info `:2,` then letters
 * in ASCII order: D draft, F flagged, P passed (forwarded: the `$Forwarded` keyword of RFC 5788),
 * R replied, S seen, T trashed (IMAP's \Deleted); a–z are keywords, numbered by the folder's
 * `dovecot-keywords` file (./dovecot-keywords.ts).
 *
 * mbox (the mutt / Dovecot / Thunderbird convention): `Status: R` seen (`O`: old, not recent:
 * no IMAP flag), `X-Status:` A answered, F flagged, T draft, D deleted, `X-Keywords:` the
 * keywords separated by spaces or commas.
 */
const MAILDIR_SYSTEM: Record<string, string> = {D: '\\Draft', F: '\\Flagged', P: '$Forwarded', R: '\\Answered', S: '\\Seen', T: '\\Deleted'}
const MAILDIR_LETTER = new Map(Object.entries(MAILDIR_SYSTEM).map(([letter, flag]) => [flag.toLowerCase(), letter]))

/** the flags of a Maildir file name's info; `keywordAt` names keyword letter a=0 … z=25 (undefined: unknown, dropped) */
export function flagsOfMaildirInfo(info: string, keywordAt: (index: number) => string | undefined): string[] {
  const flags: string[] = []
  for (const letter of info) {
    const system = MAILDIR_SYSTEM[letter]
    if (system) flags.push(system)
    else if (letter >= 'a' && letter <= 'z') {
      const keyword = keywordAt(letter.charCodeAt(0) - 97)
      if (keyword) flags.push(keyword)
    }
  }
  return flags
}

/** the `:2,` info letters of flags; `letterOf` gives a keyword its letter (undefined: no room, not kept) */
export function maildirInfoOf(flags: string[], letterOf: (keyword: string) => string | undefined): string {
  const letters: string[] = []
  for (const flag of flags) {
    const system = MAILDIR_LETTER.get(flag.toLowerCase())
    if (system) letters.push(system)
    else if (!flag.startsWith('\\')) {
      const letter = letterOf(flag)
      if (letter) letters.push(letter)
    }
  }
  return [...new Set(letters)].sort().join('')
}

/** the header fields that carry mbox flags and other mail stores' bookkeeping (Dovecot hides the same ones from IMAP) */
export const MBOX_META_FIELDS = new Set(['status', 'x-status', 'x-keywords', 'x-uid', 'x-imap', 'x-imapbase'])

/** flags from an mbox message's Status, X-Status and X-Keywords values */
export function flagsOfMboxFields(fields: {status?: string; xStatus?: string; xKeywords?: string}): string[] {
  const flags: string[] = []
  if (fields.status?.includes('R')) flags.push('\\Seen')
  const x = fields.xStatus ?? ''
  if (x.includes('A')) flags.push('\\Answered')
  if (x.includes('F')) flags.push('\\Flagged')
  if (x.includes('T')) flags.push('\\Draft')
  if (x.includes('D')) flags.push('\\Deleted')
  for (const keyword of (fields.xKeywords ?? '').split(/[\s,]+/)) if (keyword && !keyword.startsWith('\\')) flags.push(keyword)
  return flags
}

/** the mbox header lines (LF-ended) that carry `flags` */
export function mboxFieldsOf(flags: string[]): string {
  const has = (f: string) => flags.some((x) => x.toLowerCase() === f.toLowerCase())
  const xStatus = (has('\\Answered') ? 'A' : '') + (has('\\Flagged') ? 'F' : '') + (has('\\Draft') ? 'T' : '') + (has('\\Deleted') ? 'D' : '')
  const keywords = flags.filter((f) => !f.startsWith('\\'))
  return `Status: ${has('\\Seen') ? 'RO' : 'O'}\n` + (xStatus ? `X-Status: ${xStatus}\n` : '') + (keywords.length ? `X-Keywords: ${keywords.join(' ')}\n` : '')
}
