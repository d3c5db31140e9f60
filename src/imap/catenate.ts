/**
 * CATENATE (RFC 4469): a message for APPEND made of pieces, each new text (a literal) or a URL
 * naming one of the user's own messages or a part of one (./imap-url.ts), in the user's own
 * folders only. What a URL names is read as BODY.PEEK would (no \Seen). A URL that does not
 * name something that exists is `NO [BADURL url]`; a result over the size limit `NO [TOOBIG]`,
 * found as soon as the pieces so far pass it.
 */
import {isMailboxError} from '../errors.js'
import {indexOfUid} from '../mailstore/mailbox-view.js'
import {parseMessage} from '../mime/structure.js'
import {parseMessageUrl, urlResponseText} from './imap-url.js'
import {ParseError, type Node} from './parser.js'
import {hasPart, byteRange, sectionBytes} from './sections.js'
import {ImapError, type Session} from './session.js'

export type CatenatePart = {text: Buffer} | {url: string}

/** the parenthesized list after CATENATE: `TEXT literal` and `URL astring`, one or more */
export function parseCatenate(items: Node[]): CatenatePart[] {
  if (!items.length) throw new ParseError('CATENATE needs at least one part')
  const parts: CatenatePart[] = []
  for (let i = 0; i < items.length; i += 2) {
    const kind = items[i]
    const value = items[i + 1]
    const name = kind?.type === 'atom' ? kind.value.toUpperCase() : ''
    if (name === 'TEXT' && value?.type === 'string' && value.bytes) parts.push({text: value.bytes})
    else if (name === 'URL' && (value?.type === 'string' || value?.type === 'atom') && value.value) parts.push({url: value.value})
    else throw new ParseError('CATENATE parts are TEXT literal or URL url')
  }
  return parts
}

/** The message the parts make, at most `maxSize` octets. */
export async function assembleCatenate(session: Session, parts: CatenatePart[], maxSize: number): Promise<Buffer> {
  const pieces: Buffer[] = []
  let size = 0
  for (const part of parts) {
    const bytes = 'text' in part ? part.text : await resolveUrl(session, part.url)
    size += bytes.length
    if (size > maxSize) throw new ImapError('NO', `The catenated message is larger than the limit (${maxSize} octets)`, 'TOOBIG')
    pieces.push(bytes)
  }
  return Buffer.concat(pieces, size)
}

async function resolveUrl(session: Session, url: string): Promise<Buffer> {
  const bad = (why: string) => new ImapError('NO', why, `BADURL ${urlResponseText(url)}`)
  const user = session.user!
  const ref = parseMessageUrl(url, user)
  if (!ref) throw bad('Not a URL of a message of yours')
  let view
  try {
    view = await session.bus.call('mailstore.view', {user, name: ref.mailbox})
  } catch (err) {
    if (isMailboxError(err)) throw bad('No such folder')
    throw err
  }
  if (ref.uidValidity !== undefined && ref.uidValidity !== view.folder.uidValidity) throw bad('The folder has another UIDVALIDITY')
  const record = view.records[indexOfUid(view.records, ref.uid)]
  if (!record) throw bad('No such message')
  let bytes: Buffer
  try {
    bytes = await session.bus.call('mailstore.blobBytes', {blobId: record.blobId})
    if (ref.section) {
      const info = await session.bus.call('mailstore.blobInfo', {blobId: record.blobId})
      const root = info.structure ?? parseMessage(bytes).root
      if (!hasPart(root, ref.section.path)) throw bad('No such part')
      bytes = sectionBytes(bytes, root, ref.section)
    }
  } catch (err) {
    // expunged meanwhile
    if (isMailboxError(err, 'not-found')) throw bad('No such message')
    throw err
  }
  return ref.partial ? byteRange(bytes, ref.partial) : bytes
}
