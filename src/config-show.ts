/**
 * `mailbox config show`: the effective configuration with its secrets redacted (as the schema
 * marks them), as JSON or as `key = value` lines in the manner of Postfix's postconf.
 */
import {CONFIG_SCHEMA, keyPath, redactConfig} from './config-schema.js'
import type {ServeConfig} from './config.js'
import {isPlainObject} from './config-validate.js'

export function shownConfig(config: ServeConfig): ServeConfig {
  return redactConfig(config, CONFIG_SCHEMA)
}

/** one `path = value` line per setting, depth first; strings bare, lists as JSON */
export function configLines(config: object, parent = ''): string[] {
  return Object.entries(config).flatMap(([key, value]) => {
    const path = keyPath(parent, key)
    if (value === undefined) return []
    if (isPlainObject(value)) return Object.keys(value).length ? configLines(value, path) : [`${path} = {}`]
    return [`${path} = ${typeof value === 'string' ? value : JSON.stringify(value)}`]
  })
}
