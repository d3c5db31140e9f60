/** tag ENABLE capability… (RFC 5161); CONDSTORE is the one extension here that can be enabled */
import type {CommandHandler} from '../session.js'

export const ENABLE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const enabled: string[] = []
    do {
      const name = args.atom('capability').toUpperCase()
      if (name === 'CONDSTORE' && !enabled.includes(name)) {
        session.enableCondstore()
        enabled.push(name)
      }
    } while (args.remaining)
    session.write(`* ENABLED${enabled.map((e) => ' ' + e).join('')}\r\n`)
  },
}
