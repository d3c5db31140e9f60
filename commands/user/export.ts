import {Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {exportUsers} from '../../src/directory/user-export.js'
import {formatUserFile, USER_FILE_FORMATS, type UserFileFormat} from '../../src/directory/user-file.js'

export default class UserExport extends MailboxCommand {
  static override summary = 'Write every user (address, quota, max_messages, aliases, disabled) as CSV or JSON Lines, in the form user import reads.'
  static override description = 'Password hashes only with --with-hashes (treat that output as a secret). Aliases that forward to one user are on that user\'s line; aliases with several targets are not exported (see alias list).'
  static override examples = [
    '<%= config.bin %> user export > users.csv',
    '<%= config.bin %> user export --format jsonl --with-hashes --domain example.com > example.jsonl',
  ]
  // the output is the file itself: no --json wrapper around it
  static override enableJsonFlag = false
  static override flags = {
    format: Flags.string({summary: 'Output format.', options: [...USER_FILE_FORMATS], default: 'csv'}),
    'with-hashes': Flags.boolean({summary: 'Include each user\'s argon2id password hash.'}),
    domain: Flags.string({summary: 'Only the users of this domain.'}),
  }

  async run() {
    const {flags} = await this.parse(UserExport)
    const users = await exportUsers(await this.openStore(flags['data-dir'], {readOnly: true}), {domain: flags.domain, withHashes: flags['with-hashes']})
    process.stdout.write(formatUserFile(users, flags.format as UserFileFormat, flags['with-hashes']))
  }
}
