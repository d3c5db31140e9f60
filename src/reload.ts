/**
 * SIGHUP for `serve`: read the configuration again, through the same path as start-up
 * (effectiveConfig), and hand it to App.reload. A config file or TLS files that cannot be used
 * are refused with one error line in the log and the server keeps running as it was: a reload
 * never stops the server. Reloads run one at a time; HUPs that arrive during one make one more
 * reload after it (a certbot hook may fire once per certificate). What a reload changes in place
 * and what waits for a restart is listed here too (LIVE_SECTIONS, RESTART_ONLY).
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

/** the config sections whose values the running parts read as they go: a reload assigns into them */
export const LIVE_SECTIONS = ['smtp', 'imap', 'pop3', 'managesieve', 'sieve', 'queue', 'dkim', 'srs', 'inboundAuth', 'spam', 'captureRetention', 'mtaSts', 'tlsRpt', 'acme'] as const

/**
 * Settings read once at start (listening sockets, the store, objects built from them): a reload
 * leaves them as they are and logs that they changed. README "Running the server" lists them.
 */
export const RESTART_ONLY = [
  'dataDir',
  'store',
  'storePool',
  'nodeId',
  'bind',
  'ports',
  'hostname',
  // what autoconfiguration advertises is worked out once, at start, from hostname and ports
  'clientSettings',
  'capture',
  'allowInsecureAuth',
  'auth',
  'matcher',
  'metrics',
  // the rspamd client and the learning worker are made at start
  'spam.rspamd',
  // the TLS report recorder and task are made at start (their other settings are read as they go)
  'tlsRpt.enabled',
  'tlsRpt.flushMs',
  'smtp.maxBufferedBytes',
  'inboundAuth.verifierThreads',
  'inboundAuth.threadMemoryMb',
  'imap.handshakeTimeoutMs',
  'pop3.handshakeTimeoutMs',
  'managesieve.port',
  // the ACME manager is made at start for one directory, its challenge chosen by the ports that listen
  'acme.directory',
  'acme.challenge',
  // the HTTP servers are made with their bounds at start
  'http',
] as const

export function restartOnlyChanges(running: ServeConfig, next: ServeConfig): string[] {
  const valueOf = (config: ServeConfig, path: string) => path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown>)?.[key], config)
  return RESTART_ONLY.filter((path) => JSON.stringify(valueOf(running, path)) !== JSON.stringify(valueOf(next, path)))
}

/**
 * `next`'s values into `running`, but for those of `section` that wait for a restart; an optional
 * key `next` no longer has (taken out of the file: mtaSts.mx, acme.email, tlsRpt.from…) is
 * removed, so it is unset as it would be after a restart, not left at its old value
 */
export function assignLive(section: string, running: object, next: object): void {
  const kept = new Set(RESTART_ONLY.filter((path) => path.startsWith(`${section}.`)).map((path) => path.slice(section.length + 1)))
  const live = running as Record<string, unknown>
  for (const key of Object.keys(live)) if (!kept.has(key) && !(key in next)) delete live[key]
  for (const [key, value] of Object.entries(next)) if (!kept.has(key)) live[key] = value
}
