/** The command table: name → handler. UID FETCH/STORE/SEARCH/COPY/MOVE/EXPUNGE reach the same handlers with `uid` set. */
import type {CommandHandler} from '../session.js'
import {AUTHENTICATE, LOGIN, STARTTLS} from './auth.js'
import {FETCH} from './fetch.js'
import {CREATE, DELETE, LIST, LSUB, RENAME, STATUS, SUBSCRIBE, UNSUBSCRIBE} from './folders.js'
import {APPEND, COPY, MOVE, STORE} from './messages.js'
import {SEARCH} from './search.js'
import {CLOSE, EXAMINE, EXPUNGE, IDLE, SELECT, UNSELECT} from './select.js'
import {CAPABILITY, CHECK, ENABLE, ID, LOGOUT, NAMESPACE, NOOP} from './simple.js'

export const COMMANDS = new Map<string, CommandHandler>(
  Object.entries({
    CAPABILITY,
    NOOP,
    CHECK,
    LOGOUT,
    ID,
    NAMESPACE,
    ENABLE,
    STARTTLS,
    LOGIN,
    AUTHENTICATE,
    LIST,
    LSUB,
    SUBSCRIBE,
    UNSUBSCRIBE,
    CREATE,
    DELETE,
    RENAME,
    STATUS,
    SELECT,
    EXAMINE,
    CLOSE,
    UNSELECT,
    EXPUNGE,
    IDLE,
    SEARCH,
    FETCH,
    STORE,
    COPY,
    MOVE,
    APPEND,
  }),
)
