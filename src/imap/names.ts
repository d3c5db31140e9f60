/**
 * How one session spells mailbox names on the wire. IMAP4rev1 uses modified UTF-7 (RFC 3501
 * §5.1.3); after `ENABLE UTF8=ACCEPT` (RFC 6855 §3) or `ENABLE IMAP4rev2` (RFC 9051 §5.1) names
 * are UTF-8 both ways. Folders are stored with their UTF-8 names, so only this edge differs.
 *
 * In a UTF-8 session a name is taken as it is written: `&AOQ-` is those five characters, not
 * "ä" (RFC 9051 keeps modified UTF-7 for rev1 compatibility only; a name that merely looks like
 * it is a UTF-8 name). A rev1 session sees that folder as `&-AOQ-`, so every name round-trips.
 */
import {decodeMailboxName, encodeMailboxName} from './mutf7.js'

export interface NameCodec {
  /** names (and other strings) may be sent as UTF-8 quoted strings */
  readonly utf8: boolean
  /** a name or LIST pattern as the client sent it → the stored name; undefined when it is not a valid name */
  decode(wire: string): string | undefined
  /** a stored name → how this session spells it (before quoting) */
  encode(name: string): string
}

export const MUTF7_NAMES: NameCodec = {
  utf8: false,
  decode(wire) {
    try {
      return decodeMailboxName(wire)
    } catch {
      return undefined
    }
  },
  encode: encodeMailboxName,
}

/**
 * RFC 6855 §3: names are Net-Unicode (RFC 5198 §2) without controls (U+0000-U+001F,
 * U+007F-U+009F) and line or paragraph separators; U+FFFD is what undecodable UTF-8 became.
 */
const NOT_IN_A_UTF8_NAME = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/

export const UTF8_NAMES: NameCodec = {
  utf8: true,
  // not normalized to NFC (RFC 9051 §5.1 allows it, not requires it): a name a rev1 session
  // created in another form stays reachable by its exact spelling
  decode: (wire) => (NOT_IN_A_UTF8_NAME.test(wire) ? undefined : wire),
  encode: (name) => name,
}
