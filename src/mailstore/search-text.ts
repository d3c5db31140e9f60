/**
 * The plain text of a message's body for SEARCH BODY/TEXT: its text parts decoded (every charset
 * and transfer encoding, via mailparser), or its HTML with the tags removed — never the header
 * (BODY must not match the Subject; TEXT adds the header itself). Extracted on first use and
 * cached by the store (`mail.cachedText` / `mail.cacheText`), so each message is decoded at most
 * once and ingest never pays for it.
 */
import type {MailStore} from '../store/backend.js'

/** longer bodies are searched by their first part only */
export const MAX_SEARCH_TEXT = 1024 * 1024

export async function extractText(raw: Buffer): Promise<string> {
  // loaded at the first SEARCH BODY/TEXT: mailparser (~60 files, linkify-it's tables) is no part of serve's start
  const {simpleParser} = await import('mailparser')
  const mail = await simpleParser(raw, {skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true})
  const text = mail.text ?? (typeof mail.html === 'string' ? mail.html.replace(/<[^>]*>/g, ' ') : '')
  return text.length > MAX_SEARCH_TEXT ? text.slice(0, MAX_SEARCH_TEXT) : text
}

/**
 * Marks a cached text as body-only: texts cached before had the Subject in front, and are
 * extracted again rather than let BODY match the header.
 */
const BODY_ONLY = '\u0001'

/**
 * The search text of a blob, from the cache or extracted now and cached. The cache write is not
 * awaited (SEARCH does not wait for an fsync) and may fail — disk full, a file size limit, a
 * read-only store: `onCacheError` hears of it, and the text is simply extracted again next time.
 */
export async function searchText(mail: MailStore, blobId: string, onCacheError: (err: unknown) => void): Promise<string> {
  const cached = await mail.cachedText(blobId)
  if (cached?.startsWith(BODY_ONLY)) return cached.slice(1)
  const raw = await mail.blob(blobId)
  if (!raw) return ''
  const text = await extractText(raw)
  // the store skips it if the blob went away meanwhile
  mail.cacheText(blobId, BODY_ONLY + text).catch(onCacheError)
  return text
}
