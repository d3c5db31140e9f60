/** What the server announces, which depends on the session: TLS and login state. */
import type {Session} from './session.js'

const ALWAYS = 'IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE CONDSTORE QRESYNC UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS STATUS=SIZE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE ESEARCH SEARCHRES PARTIAL CONTEXT=SEARCH CONTEXT=SORT ESORT BINARY MULTIAPPEND CATENATE SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES NOTIFY UTF8=ACCEPT'

/** may this session send a password? (only over TLS, unless plaintext auth was allowed for development) */
export const mayAuthenticate = (session: Session): boolean => session.secure || session.options.allowInsecureAuth

export function capabilities(session: Session): string {
  let caps = `${ALWAYS} APPENDLIMIT=${session.options.limits.maxLiteralSize}`
  // COMPRESS is a command of the authenticated state (RFC 4978 §3), as in Dovecot
  if (session.state !== 'not-authenticated') return `${caps} COMPRESS=DEFLATE`
  if (!session.secure && session.options.tls) caps += ' STARTTLS'
  caps += mayAuthenticate(session) ? ' AUTH=PLAIN AUTH=LOGIN' : ' LOGINDISABLED'
  return caps
}
