/**
 * JSON with comments, as config files (and docs/mailbox.example.jsonc) are written: `//` and
 * `/* … *\/` outside strings are blanked out, then JSON.parse does the rest. Comments become
 * spaces (newlines kept), so positions in JSON.parse's messages still point into the original text.
 */
export function stripComments(text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === '"') {
      // a string, escapes included, copied as is
      let j = i + 1
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1
      out += text.slice(i, j + 1)
      i = j + 1
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i)
      const stop = end === -1 ? text.length : end
      out += ' '.repeat(stop - i)
      i = stop
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end === -1 ? text.length : end + 2
      out += text.slice(i, stop).replace(/[^\n]/g, ' ')
      i = stop
    } else {
      out += c
      i++
    }
  }
  return out
}

/** Parses JSON with comments. */
export const parseJsonc = (text: string): unknown => JSON.parse(stripComments(text)) as unknown
