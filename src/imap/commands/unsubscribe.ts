/** tag UNSUBSCRIBE mailbox (RFC 3501 §6.3.7) */
import {subscribe} from './subscribe.js'

export const UNSUBSCRIBE = subscribe(false)
