import {Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {effectiveConfig} from '../../src/config.js'
import {configLines, shownConfig} from '../../src/config-show.js'

export default class ConfigShow extends MailboxCommand {
  static override summary = 'Show the effective configuration: defaults, then the config file, then the environment; secrets redacted.'
  static override examples = ['<%= config.bin %> config show --config /etc/mailbox/mailbox.jsonc', '<%= config.bin %> config show --json']
  static override flags = {
    config: Flags.string({summary: 'Config file (JSON, // and /* */ comments allowed).'}),
  }

  async run() {
    const {flags} = await this.parse(ConfigShow)
    const shown = shownConfig(effectiveConfig({dataDir: flags['data-dir'], configFile: flags.config, flags: {store: flags.store}}))
    this.say(configLines(shown).join('\n'))
    return shown
  }
}
