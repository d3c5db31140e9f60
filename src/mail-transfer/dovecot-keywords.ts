/**
 * Dovecot's `dovecot-keywords` file of a Maildir folder: lines `N name`, N from 0, where keyword N
 * is the letter a+N in the file names' flags (26 at most: Dovecot keeps further ones only in its
 * index, which no other program reads, so neither do we).
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

export const KEYWORDS_FILE = 'dovecot-keywords'
export const MAX_KEYWORD_LETTERS = 26

/** index → keyword of the folder at `dir` (none when the file is missing) */
export function readDovecotKeywords(dir: string): Map<number, string> {
  let text: string
  try {
    text = readFileSync(join(dir, KEYWORDS_FILE), 'utf8')
  } catch {
    return new Map()
  }
  const keywords = new Map<number, string>()
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\S+)\s*$/.exec(line)
    if (m && Number(m[1]) < MAX_KEYWORD_LETTERS) keywords.set(Number(m[1]), m[2]!)
  }
  return keywords
}

/** Letters for the keywords of one folder's export, given out in order of first use; the first 26 only. */
export class KeywordLetters {
  private readonly letters = new Map<string, string>()

  letterOf(keyword: string): string | undefined {
    let letter = this.letters.get(keyword)
    if (!letter && this.letters.size < MAX_KEYWORD_LETTERS) this.letters.set(keyword, (letter = String.fromCharCode(97 + this.letters.size)))
    return letter
  }

  get size(): number {
    return this.letters.size
  }

  write(dir: string): void {
    if (!this.letters.size) return
    writeFileSync(join(dir, KEYWORDS_FILE), [...this.letters.keys()].map((k, i) => `${i} ${k}\n`).join(''))
  }
}
