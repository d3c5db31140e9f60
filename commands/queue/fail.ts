import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {offlineConfigFlag, offlineMailSettings} from '../../src/cli/offline-mail.js'
import {queueChange} from '../../src/cli/queue-change.js'
import {injectMessage} from '../../src/mailstore/submit.js'
import {failEntry} from '../../src/queue/fail.js'

export default class QueueFail extends MailboxCommand {
  static override summary = 'Fail an entry now: its open recipients fail and the sender gets a bounce, as on expiry.'
  static override description = 'Like bouncing a message from the Postfix queue. ID is the full id or any unique prefix or suffix of it.'
  static override examples = ['<%= config.bin %> queue fail 0mwrf3k2a1b2c3d40001', '<%= config.bin %> queue fail 3d40001']
  static override args = {id: Args.string({description: 'entry id, or any unique prefix or suffix of it', required: true, ignoreStdin: true})}
  static override flags = {config: offlineConfigFlag}

  async run() {
    const {args, flags} = await this.parse(QueueFail)
    const result = await queueChange(flags['data-dir'], 'queue.fail', {id: args.id}, (store) => {
      const {hostname, dkim} = offlineMailSettings(flags['data-dir'], flags.config)
      return failEntry(store.queue, args.id, {hostname, inject: (to, dsn) => injectMessage(store, {from: '', to: [to], raw: dsn, hostname, dkim})})
    }, () => this.openStore(flags['data-dir']))
    this.say(
      [
        `failed ${result.entry.id} (${result.recipients.join(', ') || 'no open recipients'})`,
        result.bouncedTo ? `  bounce sent to ${result.bouncedTo}` : result.bounceError ? `  the bounce could not be delivered: ${result.bounceError}` : '  no bounce (null sender)',
      ].join('\n'),
    )
    return result
  }
}
