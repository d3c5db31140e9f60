import {Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {checkConfig} from '../../src/config.js'

export default class ConfigCheck extends MailboxCommand {
  static override summary = 'Check a config file as serve would read it: unknown keys, types, ranges, routes, relay settings.'
  static override description =
    'Exits 0 and prints "config OK: FILE" when serve would accept it; otherwise prints every problem, one "Error: FILE: KEY: …" line each, and exits 1.'
  static override enableJsonFlag = false
  static override examples = ['<%= config.bin %> config check --config /etc/mailbox/mailbox.jsonc']
  static override flags = {
    config: Flags.string({summary: 'Config file to check (JSON, // and /* */ comments allowed).'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ConfigCheck)
    checkConfig({dataDir: flags['data-dir'], configFile: flags.config, flags: {store: flags.store}})
    this.log(`config OK: ${flags.config ?? '(no config file: defaults and environment)'}`)
  }
}
