/**
 * `npm run gen:config-example`: writes docs/mailbox.example.jsonc from the config schema (see
 * src/config-example.ts). test/unit/config-example.test.ts fails until it has been run after a
 * change to the schema or to a default.
 */
import {writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {exampleConfig} from '../src/config-example.js'

const path = fileURLToPath(new URL('../docs/mailbox.example.jsonc', import.meta.url))
writeFileSync(path, exampleConfig())
console.log(`wrote ${path}`)
