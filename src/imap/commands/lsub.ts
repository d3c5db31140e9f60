/** tag LSUB reference pattern (RFC 3501 §6.3.9) */
import type {CommandHandler} from '../session.js'
import {list} from './list.js'

export const LSUB: CommandHandler = {states: ['authenticated', 'selected'], run: (session, {args}) => list(session, args, true)}
