/** tag ENABLE capability… (RFC 5161): CONDSTORE and QRESYNC (RFC 7162), UTF8=ACCEPT (RFC 6855) and IMAP4rev2 (RFC 9051) */
import type {CommandHandler, Session} from '../session.js'

/** what each capability that can be enabled turns on, by its name in upper case; the value is its spelling in ENABLED */
const ENABLERS: Record<string, [string, (session: Session) => void]> = {
  CONDSTORE: ['CONDSTORE', (s) => s.enableCondstore()],
  QRESYNC: ['QRESYNC', (s) => s.enableQresync()],
  IMAP4REV2: ['IMAP4rev2', (s) => s.enableRev2()],
  'UTF8=ACCEPT': ['UTF8=ACCEPT', (s) => (s.utf8Accept = true)],
}

export const ENABLE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const enabled: string[] = []
    do {
      const enabler = ENABLERS[args.atom('capability').toUpperCase()]
      if (!enabler || enabled.includes(enabler[0])) continue
      enabler[1](session)
      enabled.push(enabler[0])
    } while (args.remaining)
    session.write(`* ENABLED${enabled.map((e) => ' ' + e).join('')}\r\n`)
  },
}
