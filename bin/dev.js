#!/usr/bin/env -S node --import tsx --disable-warning=ExperimentalWarning
// Development entry: runs the TypeScript commands directly through tsx, no build needed.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {execute, settings} from '@oclif/core'

settings.enableAutoTranspile = false // tsx is already registered; skip oclif's dist->src mapping
const root = fileURLToPath(new URL('..', import.meta.url))
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
pjson.oclif.commands = './commands'
await execute({development: true, dir: import.meta.url, loadOptions: {root, pjson, userPlugins: false}}) // see bin/mailbox
