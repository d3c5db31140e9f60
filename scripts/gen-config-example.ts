/**
 * `npm run gen:config-example`: writes docs/mailbox.example.jsonc from the config schema (see
 * src/config-example.ts) and docs/mailbox.service from the unit `mailbox init` writes (see
 * src/init/systemd-unit.ts). test/unit/config-example.test.ts and test/unit/init-files.test.ts
 * fail until it has been run after a change to the schema, a default or the unit.
 */
import {writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {exampleConfig} from '../src/config-example.js'
import {PACKAGED_UNIT, systemdUnit} from '../src/init/systemd-unit.js'

for (const [name, text] of [
  ['mailbox.example.jsonc', exampleConfig()],
  ['mailbox.service', systemdUnit(PACKAGED_UNIT)],
]) {
  const path = fileURLToPath(new URL(`../docs/${name}`, import.meta.url))
  writeFileSync(path, text)
  console.log(`wrote ${path}`)
}
