import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {progressReporter} from '../../src/cli/progress.js'
import {readInput} from '../../src/cli/read-input.js'
import {importUsers} from '../../src/directory/user-import.js'
import {detectFormat, parseUserFile, USER_FILE_FORMATS, type UserFileFormat} from '../../src/directory/user-file.js'
import {parseSize} from '../../src/size.js'

export default class UserImport extends MailboxCommand {
  static override summary = 'Add many users (with their aliases) from a CSV or JSON Lines file, all or none.'
  static override description = `CSV: a header row, then one user a line; columns address, password, password_hash (argon2id PHC), quota, max_messages (0 = unlimited), aliases (separated by spaces or ;), disabled. JSON Lines: one object a line, keys address, password, passwordHash, quota, maxMessages, aliases (array), disabled. The format comes from --format, else the file extension, else the first character ({ is JSON Lines).
Every line is checked first and every bad one reported (line, field, why); one bad line and nothing is added (exit 1). Then the passwords are hashed in parallel and all users are added in one transaction. Works whether or not the server runs.`
  static override examples = [
    '<%= config.bin %> user import users.csv',
    "printf 'address,password,quota,aliases\\nbob@example.com,s3cret,2G,bobby@example.com\\n' | <%= config.bin %> user import -",
    '<%= config.bin %> user export --with-hashes > all.csv && <%= config.bin %> user import all.csv --data-dir /srv/new',
  ]
  static override args = {file: Args.string({required: true, ignoreStdin: true, description: 'the user file, or - for stdin'})}
  static override flags = {
    format: Flags.string({summary: 'csv or jsonl (default: from the file name or its first character).', options: [...USER_FILE_FORMATS]}),
    update: Flags.boolean({summary: 'Change users that exist already (the fields a line gives; aliases are added) instead of refusing the line.'}),
    'max-size': Flags.string({summary: 'Largest input accepted.', default: '64M'}),
  }

  async run() {
    const {args, flags} = await this.parse(UserImport)
    const maxBytes = parseSize(flags['max-size'])
    const store = await this.openStore(flags['data-dir'])
    const text = await readInput(args.file, maxBytes)
    const fromStdin = args.file === '-'
    const format = (flags.format as UserFileFormat | undefined) ?? detectFormat(text, fromStdin ? undefined : args.file)
    const what = fromStdin ? 'stdin' : args.file
    const summary = await importUsers(store, parseUserFile(text, format), what, {update: flags.update, onHashed: progressReporter('hashing passwords')})
    const aliases = summary.aliases ? `, ${summary.aliases} alias(es)` : ''
    this.say(`imported ${summary.users} user(s) from ${what}: ${summary.added} added, ${summary.updated} updated${aliases}; ${summary.hashed} password(s) hashed, ${summary.hashesGiven} hash(es) taken as given`)
    if (summary.withoutPassword.length && !this.jsonEnabled()) {
      process.stderr.write(`note: ${summary.withoutPassword.length} user(s) have no password and cannot log in until \`mailbox user passwd\`\n`)
    }
    return summary
  }
}
