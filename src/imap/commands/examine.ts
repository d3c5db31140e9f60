/** tag EXAMINE mailbox (RFC 3501 §6.3.2) */
import {select} from './select.js'

export const EXAMINE = select(true)
