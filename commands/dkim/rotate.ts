import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {rotateDkimKeys, zoneLine} from '../../src/dkim/admin.js'

export default class DkimRotate extends MailboxCommand {
  static override summary = "Make a new DKIM key pair for a domain; the old pair is retired (published, no longer signing)."
  static override description =
    'The next message the domain sends is signed with the new keys, server running or not. Publish the new records at once; keep the retired ones published until mail signed with them has been delivered and checked (a few days), then remove them with `mailbox dkim remove`.'
  static override examples = ['<%= config.bin %> dkim rotate example.com', '<%= config.bin %> dkim rotate example.com --json']
  static override args = {domain: Args.string({required: true, ignoreStdin: true, description: 'a local domain'})}

  async run() {
    const {args, flags} = await this.parse(DkimRotate)
    const rotation = await rotateDkimKeys(await this.openStore(flags['data-dir']), args.domain)
    const selectors = (keys: typeof rotation.active) => keys.map((k) => k.selector).join(', ')
    this.say(
      [
        `rotated the DKIM keys of ${rotation.domain}: ${selectors(rotation.active)} sign from now on`,
        '',
        'Add these DNS records now:',
        ...rotation.active.map((k) => zoneLine(k.dns)),
        ...(rotation.retired.length
          ? [
              '',
              `Keep these until mail signed with them has been delivered (a few days), then run mailbox dkim remove ${rotation.domain} SELECTOR and delete them:`,
              ...rotation.retired.map((k) => zoneLine(k.dns)),
            ]
          : []),
      ].join('\n'),
    )
    return rotation
  }
}
