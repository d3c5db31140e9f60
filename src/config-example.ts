/**
 * docs/mailbox.example.jsonc, generated from CONFIG_SCHEMA (descriptions) and defaultConfig()
 * (values), so the example cannot drift from what serve accepts: test/unit/config-example.test.ts
 * fails when the file differs from exampleConfig(). Regenerate with `npm run gen:config-example`.
 *
 * The example is itself a valid config file: every key with a fixed default is set to it; keys
 * without one (hostname, tlsCert, relay.host, …) are shown commented out with a sample value.
 */
import {CONFIG_SCHEMA, type SchemaNode} from './config-schema.js'
import {defaultConfig} from './config.js'
import {formatSize} from './size.js'

const HEADER = `// mailbox configuration: mailbox serve --config FILE (JSON; // and /* */ comments allowed).
// Every key is optional; this file sets each one to its default. Lines commented out have no
// fixed default: what happens when they are unset is said above them. Check a file with
// \`mailbox config check --config FILE\`; see the effective settings with \`mailbox config show\`.
// Generated from src/config-schema.ts by \`npm run gen:config-example\`: do not edit by hand.
`

export function exampleConfig(): string {
  // the data dir only shapes dataDir, which is not a config file key
  const defaults = defaultConfig('/var/lib/mailbox') as unknown as Record<string, unknown>
  return `${HEADER}${objectLines(CONFIG_SCHEMA as SchemaNode & {kind: 'object'}, defaults, '').join('\n')}\n`
}

function objectLines(node: SchemaNode & {kind: 'object'}, values: Record<string, unknown>, indent: string): string[] {
  const inner = `${indent}  `
  const entries = Object.entries(node.keys).filter(([, child]) => !child.deprecated)
  const active = entries.filter(([, child]) => !child.unset).map(([key]) => key)
  const lines = ['{']
  for (const [key, child] of entries) {
    const comma = active.indexOf(key) >= 0 && active.indexOf(key) < active.length - 1 ? ',' : ''
    if (child.unset) {
      lines.push(`${inner}// ${child.description}; unset: ${child.unset}`, `${inner}// ${JSON.stringify(key)}: ${inline(child.example)}`)
    } else if (child.kind === 'object') {
      const sub = objectLines(child, values[key] as Record<string, unknown>, inner)
      lines.push(`${inner}// ${child.description}`, `${inner}${JSON.stringify(key)}: ${sub[0]}`, ...sub.slice(1, -1), `${sub.at(-1)}${comma}`)
    } else {
      lines.push(`${inner}// ${child.description}${hint(child, values[key])}`, `${inner}${JSON.stringify(key)}: ${inline(values[key])}${comma}`)
    }
  }
  lines.push(`${indent}}`)
  return lines
}

/** JSON on one line, with a space after commas in lists and objects */
function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`)
    return entries.length ? `{${entries.join(', ')}}` : '{}'
  }
  return JSON.stringify(value)
}

/** ` (ms: 30 d)`, ` (bytes: 25M)`: the default in human units, for milliseconds and bytes */
function hint(node: SchemaNode, value: unknown): string {
  const unit = node.kind === 'integer' ? node.unit : node.kind === 'list' && node.item.kind === 'integer' ? node.item.unit : undefined
  const human = unit === 'ms' ? formatMs : unit === 'bytes' ? formatSize : undefined
  if (!human) return ''
  const values = (Array.isArray(value) ? value : [value]).filter((v): v is number => typeof v === 'number' && v >= 1000)
  return values.length ? ` (${unit}: ${values.map(human).join(', ')})` : unit === 'ms' ? ' (ms)' : ''
}

const MS_UNITS: [number, string][] = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1000, 's'],
]

function formatMs(ms: number): string {
  const [size, name] = MS_UNITS.find(([size]) => ms % size === 0) ?? [1, 'ms']
  return `${ms / size} ${name}`
}
