/** tag ENABLE capability… (RFC 5161): CONDSTORE and QRESYNC (RFC 7162) can be enabled */
import type {CommandHandler} from '../session.js'

export const ENABLE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const enabled: string[] = []
    do {
      const name = args.atom('capability').toUpperCase()
      if (enabled.includes(name)) continue
      if (name === 'CONDSTORE') session.enableCondstore()
      else if (name === 'QRESYNC') session.enableQresync()
      else continue
      enabled.push(name)
    } while (args.remaining)
    session.write(`* ENABLED${enabled.map((e) => ' ' + e).join('')}\r\n`)
  },
}
