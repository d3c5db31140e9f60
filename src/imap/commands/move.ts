/** tag MOVE set mailbox (RFC 6851) */
import {copy} from './copy.js'

export const MOVE = copy(true)
