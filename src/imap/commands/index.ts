/** The command table: name → handler, one module per command. UID FETCH/STORE/SEARCH/SORT/THREAD/COPY/MOVE/EXPUNGE reach the same handlers with `uid` set. */
import type {CommandHandler} from '../session.js'
import {APPEND} from './append.js'
import {AUTHENTICATE} from './authenticate.js'
import {CANCELUPDATE} from './cancelupdate.js'
import {CAPABILITY} from './capability.js'
import {CHECK} from './check.js'
import {CLOSE} from './close.js'
import {COMPRESS} from './compress.js'
import {COPY} from './copy.js'
import {CREATE} from './create.js'
import {DELETE} from './delete.js'
import {ENABLE} from './enable.js'
import {EXAMINE} from './examine.js'
import {EXPUNGE} from './expunge.js'
import {FETCH} from './fetch.js'
import {ID} from './id.js'
import {IDLE} from './idle.js'
import {LIST} from './list.js'
import {LOGIN} from './login.js'
import {LOGOUT} from './logout.js'
import {LSUB} from './lsub.js'
import {MOVE} from './move.js'
import {NAMESPACE} from './namespace.js'
import {NOOP} from './noop.js'
import {GETQUOTA, GETQUOTAROOT, SETQUOTA} from './quota.js'
import {NOTIFY} from './notify.js'
import {RENAME} from './rename.js'
import {SEARCH} from './search.js'
import {SELECT} from './select.js'
import {SORT} from './sort.js'
import {STARTTLS} from './starttls.js'
import {STATUS} from './status.js'
import {STORE} from './store.js'
import {SUBSCRIBE} from './subscribe.js'
import {THREAD} from './thread.js'
import {UNSELECT} from './unselect.js'
import {UNSUBSCRIBE} from './unsubscribe.js'

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
    CANCELUPDATE,
    SORT,
    THREAD,
    FETCH,
    STORE,
    COPY,
    MOVE,
    APPEND,
    GETQUOTA,
    GETQUOTAROOT,
    SETQUOTA,
    COMPRESS,
    NOTIFY,
  }),
)
