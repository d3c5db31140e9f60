/** tag ENABLE capability… (RFC 5161) */
import type {CommandHandler} from '../session.js'

/** RFC 5161: no extension here needs enabling yet, so nothing is enabled (the reply lists none) */
export const ENABLE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    if (!args.remaining) args.atom('capability')
    session.write('* ENABLED\r\n')
  },
}
