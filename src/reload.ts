/**
 * SIGHUP for `serve`: read the configuration again, through the same path as start-up
 * (loadServeConfig), and hand it to App.reload. A config file or TLS files that cannot be used
 * are refused with one error line in the log and the server keeps running as it was: a reload
 * never stops the server. Reloads run one at a time; HUPs that arrive during one make one more
 * reload after it (a certbot hook may fire once per certificate).
 */
import type {App} from './app.js'
import type {ServeConfig} from './config.js'
import {isMailboxError} from './errors.js'
import type {Logger} from './log.js'

/** returns the function a SIGHUP calls */
export function reloader(app: App, load: () => ServeConfig, log: Logger): () => void {
  let running = false
  let again = false
  const reloadUntilCurrent = async () => {
    running = true
    do {
      again = false
      try {
        await app.reload(load())
      } catch (err) {
        // a refusal (bad JSON, a missing key file) is the operator's to fix: its message, no stack
        const why = isMailboxError(err) ? {reason: err.message} : {err}
        log.error(why, 'configuration reload refused: the server keeps its running configuration')
      }
    } while (again)
    running = false
  }
  return () => {
    log.info({signal: 'SIGHUP'}, 'reloading configuration')
    if (running) again = true
    else void reloadUntilCurrent()
  }
}
