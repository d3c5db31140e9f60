/**
 * Structured logging: one JSON object per line (for journald and log shippers), or a compact
 * human line when stdout is a terminal. `child()` adds fields such as `component` and `cid`.
 * The call shape is the bunyan one, `logger.info(fields, message)`.
 *
 * Events an admin greps for are one line each, with the same field names in both forms:
 * `message accepted` (smtp), `delivery attempt` (queue), `login succeeded` / `login failed`
 * (auth), `node warning` (Node's own process warnings, see logProcessWarnings). No line ever
 * carries a password or a message body.
 */
import {format} from 'node:util'

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'
const LEVELS: Record<Level, number> = {trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: 100}

type Fields = Record<string, unknown>
type LogFn = (fieldsOrMessage?: Fields | string, ...args: unknown[]) => void

export interface Logger {
  trace: LogFn
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  child(fields: Fields): Logger
  readonly level: Level
  /** changes the level of this logger and of every logger of its family (parent and children): a reload's new `logLevel` */
  setLevel(level: Level): void
}

export interface LoggerOptions {
  level?: Level
  pretty?: boolean
  write?: (line: string) => void
}

export function createLogger(options: LoggerOptions = {}, bindings: Fields = {}, family = {level: options.level ?? 'info'}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true
  const write = options.write ?? ((line: string) => void process.stdout.write(line))
  const emit = (lvl: Exclude<Level, 'silent'>): LogFn => {
    return (fieldsOrMessage, ...args) => {
      if (LEVELS[lvl] < LEVELS[family.level]) return
      let fields: Fields = {}
      let message: string
      if (typeof fieldsOrMessage === 'object' && fieldsOrMessage !== null) {
        fields = fieldsOrMessage
        message = args.length ? format(...(args as [string, ...unknown[]])) : ''
      } else {
        message = format(fieldsOrMessage ?? '', ...args)
      }
      if (fields.err instanceof Error) fields = {...fields, err: {message: fields.err.message, stack: fields.err.stack}}
      const record = {time: new Date().toISOString(), level: lvl, ...bindings, ...fields, msg: message}
      write(pretty ? prettyLine(record) : JSON.stringify(record) + '\n')
    }
  }
  return {
    get level() {
      return family.level
    },
    setLevel: (level) => void (family.level = level),
    trace: emit('trace'),
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLogger(options, {...bindings, ...fields}, family),
  }
}

function prettyLine(record: Fields): string {
  const {time, level, component, msg, ...rest} = record as {time: string; level: string; component?: string; msg: string}
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' && BARE.test(v) ? v : JSON.stringify(v)}`)
    .join(' ')
  return `${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${component ? `[${component}] ` : ''}${msg}${extra ? ' ' + extra : ''}\n`
}

/**
 * a string value printed as is in the pretty form; any other is quoted, so a value a client
 * chose (a HELO name, a Message-ID) can neither split a line nor pass for another field
 */
const BARE = /^[^\s"\\=\x00-\x1f\x7f]+$/

export const silentLogger = createLogger({level: 'silent'})

/**
 * Node's process warnings (deprecations, experimental features, an insecure TLS setting such as
 * NODE_TLS_REJECT_UNAUTHORIZED=0 …) become `warn` lines of this log, instead of Node's
 * plain-text print on stderr, which under systemd lands in the same journal as the JSON lines.
 * Node prints them from a 'warning' listener of its own (absent under --no-warnings); that
 * listener is set aside while ours is on. Returns the undo.
 */
export function logProcessWarnings(log: Logger): () => void {
  const printers = process.listeners('warning')
  for (const printer of printers) process.off('warning', printer)
  const onWarning = (warning: Error & {code?: string; detail?: string}) => {
    const {name, code, message, detail} = warning
    log.warn({warning: {name, ...(code ? {code} : {}), message, ...(detail ? {detail} : {})}}, 'node warning')
  }
  process.on('warning', onWarning)
  return () => {
    process.off('warning', onWarning)
    for (const printer of printers) process.on('warning', printer)
  }
}
