/** tag CHECK (RFC 3501 §6.4.1): every change is already durable, so it is a NOOP that needs a selected folder */
import type {CommandHandler} from '../session.js'
import {NOOP} from './noop.js'

export const CHECK: CommandHandler = {states: ['selected'], run: NOOP.run}
