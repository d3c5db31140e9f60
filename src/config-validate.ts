/**
 * Checks a parsed config file against CONFIG_SCHEMA, completely: every problem is reported, one
 * line each, naming the file and the key path (`mailbox.json: ports.smpt: unknown key (did you
 * mean ports.smtp?)`), so an admin fixes them all in one go. A secret's value is never echoed.
 */
import {CONFIG_SCHEMA, keyPath, redacted, schemaEntries, type SchemaNode} from './config-schema.js'
import {MailboxError} from './errors.js'

/** A config that failed validation: `problems` are the lines, `message` all of them. */
export class ConfigError extends MailboxError {
  constructor(readonly problems: string[]) {
    super('invalid', problems.join('\n'))
  }
}

export interface ValidateOptions {
  /** keys only the command line sets (dataDir) are allowed: the layer comes from flags, not a file */
  commandLine?: boolean
}

/** keys that a config file may not hold, and what to use instead */
const COMMAND_LINE_ONLY: Record<string, string> = {
  dataDir: 'not a config file key: the data directory is set with --data-dir or $MAILBOX_DATA_DIR',
}

/**
 * Returns `raw` checked, with routes' domains normalized; `undefined` values count as unset.
 * Throws a ConfigError with every problem, each line prefixed with `source`.
 */
export function validateConfig<T extends object>(raw: unknown, source: string, options: ValidateOptions = {}): T {
  const problems: string[] = []
  if (!isPlainObject(raw)) throw new ConfigError([`${source}: must be a JSON object (got ${typeName(raw)})`])
  const {dataDir, ...rest} = raw
  const checked = walk(CONFIG_SCHEMA, rest, '', (path, problem) => problems.push(`${source}: ${path}: ${problem}`)) as Record<string, unknown>
  if (dataDir !== undefined) {
    if (!options.commandLine) problems.push(`${source}: dataDir: ${COMMAND_LINE_ONLY.dataDir}`)
    else if (typeof dataDir !== 'string' || !dataDir) problems.push(`${source}: dataDir: must be a non-empty string`)
    else checked.dataDir = dataDir
  }
  if (problems.length) throw new ConfigError(problems)
  return checked as T
}

type Report = (path: string, problem: string) => void

function walk(node: SchemaNode, value: unknown, path: string, report: Report): unknown {
  const got = () => (node.secret === 'value' ? '' : ` (got ${shown(redacted(node, value))})`)
  switch (node.kind) {
    case 'object': {
      if (!isPlainObject(value)) return report(path, `must be an object${got()}`)
      const out: Record<string, unknown> = {}
      for (const [key, child] of Object.entries(value)) {
        const childPath = keyPath(path, key)
        const childNode = Object.hasOwn(node.keys, key) ? node.keys[key] : undefined
        if (!childNode) report(childPath, `unknown key${suggestion(key, path, node)}`)
        else if (child !== undefined) out[key] = walk(childNode, child, childPath, report)
      }
      for (const key of node.required ?? []) if (value[key] === undefined) report(keyPath(path, key), 'required')
      return out
    }
    case 'integer': {
      const ok = typeof value === 'number' && Number.isInteger(value) && value >= node.min && value <= node.max
      if (!ok) report(path, `must be an integer${node.unit ? ` (${node.unit})` : ''} ${range(node.min, node.max)}${got()}`)
      return value
    }
    case 'number': {
      const ok = typeof value === 'number' && Number.isFinite(value) && value >= node.min && value <= node.max
      if (!ok) report(path, `must be a number ${range(node.min, node.max)}${got()}`)
      return value
    }
    case 'boolean':
      if (typeof value !== 'boolean') report(path, `must be true or false${got()}`)
      return value
    case 'enum':
      if (typeof value !== 'string' || !node.values.includes(value)) report(path, `must be one of ${node.values.join(', ')}${got()}`)
      return value
    case 'string': {
      if (typeof value !== 'string' || !value.trim()) return report(path, `must be a non-empty string${got()}`)
      try {
        return node.check?.(value) ?? value
      } catch (err) {
        if (!(err instanceof MailboxError)) throw err
        // parseHostPort's messages quote the value already (without the credentials)
        report(path, err.message.includes('"') ? err.message : `${err.message}${got()}`)
        return value
      }
    }
    case 'list': {
      if (!Array.isArray(value)) return report(path, `must be a list${got()}`)
      return value.map((item, i) => walk(node.item, item, `${path}[${i}]`, report))
    }
    case 'map': {
      if (!isPlainObject(value)) return report(path, `must be an object${got()}`)
      const out: Record<string, unknown> = {}
      for (const [key, child] of Object.entries(value)) {
        const childPath = keyPath(path, key)
        let normalized: string
        try {
          normalized = node.key(key)
        } catch (err) {
          if (!(err instanceof MailboxError)) throw err
          report(childPath, err.message)
          continue
        }
        if (child !== undefined) out[normalized] = walk(node.value, child, childPath, report)
      }
      return out
    }
  }
}

/** ` (did you mean ports.smtp?)`: a sibling a typo away, or the same key elsewhere in the tree */
function suggestion(key: string, parent: string, node: SchemaNode & {kind: 'object'}): string {
  const lower = key.toLowerCase()
  const siblings = Object.keys(node.keys)
  const near = siblings.find((s) => s.toLowerCase() === lower) ?? siblings.find((s) => editDistance(s.toLowerCase(), lower) <= Math.max(1, Math.floor(key.length / 4)))
  if (near) return ` (did you mean ${keyPath(parent, near)}?)`
  const elsewhere = [...schemaEntries()].map(([path]) => path).filter((path) => path.split('.').at(-1)!.toLowerCase() === lower)
  return elsewhere.length ? ` (did you mean ${elsewhere.join(' or ')}?)` : ''
}

/** Levenshtein distance, with adjacent swaps counted as one edit (prots → ports) */
function editDistance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

const range = (min: number, max: number) => (max >= Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`)

function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'object' ? 'an object' : typeof value
}

function shown(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) ?? String(value)
    return text.length > 60 ? `${text.slice(0, 57)}...` : text
  }
  return typeName(value)
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype
}
