/**
 * docs/mailbox.example.jsonc cannot drift: it must be exactly what the schema and the defaults
 * generate (`npm run gen:config-example` rewrites it), it must be a config file serve accepts, and
 * reading it must give the defaults. The schema and defaultConfig() must describe the same keys.
 */
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {defaultConfig, mergeConfig, readConfigFile} from '../../src/config.js'
import {exampleConfig} from '../../src/config-example.js'
import {schemaEntries, type SchemaNode} from '../../src/config-schema.js'
import {ROOT} from '../helpers/cli.js'

const EXAMPLE = `${ROOT}docs/mailbox.example.jsonc`

/** key paths of a config value, down to its leaves (lists, maps and scalars) */
function leafPaths(value: Record<string, unknown>, schemaOf: Map<string, SchemaNode>, parent = ''): string[] {
  return Object.entries(value).flatMap(([key, v]) => {
    const path = parent ? `${parent}.${key}` : key
    return schemaOf.get(path)?.kind === 'object' ? leafPaths(v as Record<string, unknown>, schemaOf, path) : [path]
  })
}

describe('docs/mailbox.example.jsonc', () => {
  it('is exactly what the schema generates (run `npm run gen:config-example` after changing a key or a default)', () => {
    expect(readFileSync(EXAMPLE, 'utf8')).toBe(exampleConfig())
  })

  it('is a valid config file whose values are the defaults', () => {
    const base = defaultConfig('/srv/mail')
    expect(mergeConfig(defaultConfig('/srv/mail'), readConfigFile(EXAMPLE))).toEqual(base)
  })

  it('lists every key of the schema, deprecated ones aside', () => {
    const text = readFileSync(EXAMPLE, 'utf8')
    for (const [path, node] of schemaEntries()) {
      if (node.deprecated) continue
      expect(text, path).toContain(`"${path.split('.').at(-1)}":`)
    }
  })
})

describe('the schema and the defaults', () => {
  it('describe the same keys: every default has a schema entry, every schema key without a default says what unset means', () => {
    const schemaOf = new Map(schemaEntries())
    const {dataDir: _, ...defaults} = defaultConfig('/srv/mail')
    const withDefault = leafPaths(defaults, schemaOf)
    for (const path of withDefault) expect(schemaOf.has(path), `${path} has a default but no schema entry`).toBe(true)
    const leaves = [...schemaOf].filter(([, node]) => node.kind !== 'object')
    for (const [path, node] of leaves) {
      // hostname's default is computed at start (the system's), so the example cannot show it
      if (withDefault.includes(path) && path !== 'hostname') expect(node.unset, `${path} has a default and an unset text`).toBeUndefined()
      else expect(node.unset ?? node.deprecated, `${path} has neither a default nor an unset text`).toBeTruthy()
    }
  })
})
