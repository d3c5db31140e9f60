/** tag COMPRESS DEFLATE (RFC 4978): from the tagged OK on, both directions are raw deflate streams */
import {ImapError, type CommandHandler} from '../session.js'

export const COMPRESS: CommandHandler = {
  // RFC 4978 §3: valid once authenticated (after STARTTLS, so TLS never carries compressed bytes it could leak through)
  states: ['authenticated', 'selected'],
  async run(session, {tag, args}) {
    const mechanism = args.atom('mechanism').toUpperCase()
    args.end()
    if (mechanism !== 'DEFLATE') throw new ImapError('BAD', `Unknown compression mechanism ${mechanism.slice(0, 20)}`)
    if (session.compressed) throw new ImapError('NO', 'DEFLATE is already active', 'COMPRESSIONACTIVE')
    // no await before the switch: the command runs in the same turn as the bytes that carried it
    session.write(`${tag} OK DEFLATE active\r\n`)
    session.startCompression()
    return null
  },
}
