import {MailboxCommand} from '../../../src/cli/base-command.js'
import {formatTable} from '../../../src/cli/table.js'

export default class CaptureRuleList extends MailboxCommand {
  static override summary = 'List the capture-mode fault-injection rules.'
  static override examples = ['<%= config.bin %> capture rule list --json']

  async run() {
    const {flags} = await this.parse(CaptureRuleList)
    const rules = await (await this.openStore(flags['data-dir'])).capture.rules()
    this.say(
      formatTable(rules, [
        {header: 'id', get: (r) => r.id},
        {header: 'to', get: (r) => r.to},
        {header: 'stage', get: (r) => r.stage},
        {header: 'remaining', get: (r) => r.remaining ?? 'always'},
        {header: 'reply', get: (r) => r.reply},
      ]),
    )
    return rules
  }
}
