/**
 * The plain text of a message for SEARCH BODY/TEXT: its text parts decoded (every charset and
 * transfer encoding, via mailparser), or its HTML with the tags removed. Extracted on first use
 * and cached in `blobText`, so each message is decoded at most once and ingest never pays for it.
 */
import {simpleParser} from 'mailparser'
import type {Store} from '../store/store.js'

/** longer bodies are searched by their first part only */
export const MAX_SEARCH_TEXT = 1024 * 1024

export async function extractText(raw: Buffer): Promise<string> {
  const mail = await simpleParser(raw, {skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true})
  const body = mail.text ?? (typeof mail.html === 'string' ? mail.html.replace(/<[^>]*>/g, ' ') : '')
  const text = `${mail.subject ?? ''}\n${body}`
  return text.length > MAX_SEARCH_TEXT ? text.slice(0, MAX_SEARCH_TEXT) : text
}

export async function searchText(store: Store, blobId: string): Promise<string> {
  const cached = store.blobText.get(blobId)
  if (cached !== undefined) return cached
  const raw = store.blobs.get(blobId)
  if (!raw) return ''
  const text = await extractText(raw)
  // A cache: a lost write is recomputed next time. Skip it if the blob went away meanwhile.
  if (store.blobInfo.get(blobId)) void store.blobText.put(blobId, text)
  return text
}
