import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../src/cli/base-command.js'
import {offlineConfigFlag} from '../src/cli/offline-mail.js'
import {sendMessage} from '../src/cli/send-message.js'
import {MailboxError} from '../src/errors.js'

export default class Send extends MailboxCommand {
  static override summary = 'Inject a message, like sendmail: local recipients get it at once, remote ones are queued.'
  static override description =
    'Reads the message (RFC 5322, headers and body) from FILE, or stdin when FILE is - or absent. Every recipient is checked first: one unknown local recipient refuses the whole message. With the server running, the message goes through it (so IMAP IDLE, the matcher and the dashboard see it); otherwise it is written to the store directly.'
  static override examples = [
    "printf 'Subject: hi\\n\\nhello\\n' | <%= config.bin %> send --from root@example.com --to alice@example.com",
    '<%= config.bin %> send --from app@example.com --to bob@example.com --to carol@example.net message.eml',
  ]
  static override args = {file: Args.string({description: 'message file, or - for stdin', default: '-', ignoreStdin: true})}
  static override flags = {
    from: Flags.string({summary: 'Envelope sender (use "" for a null sender).', required: true}),
    // non-greedy: in `--to B FILE` the file is the argument, not a second recipient
    to: Flags.string({summary: 'Envelope recipient (repeatable: --to a --to b).', required: true, multiple: true, multipleNonGreedy: true}),
    config: offlineConfigFlag,
  }

  async run() {
    const {args, flags} = await this.parse(Send)
    const raw = args.file === '-' ? await readStdin() : readMessageFile(args.file)
    if (raw.length === 0) throw new MailboxError('invalid', 'the message is empty')
    const dataDir = resolve(flags['data-dir'])
    const reply = await sendMessage(dataDir, {from: flags.from, to: flags.to, raw, config: flags.config}, () => this.openStore(dataDir))
    this.say(
      [
        `accepted ${reply.id}`,
        ...reply.stored.map((s) => `  stored for ${s.user} in ${s.folder} (uid ${s.uid})`),
        ...reply.queued.map((q) => `  queued ${q}`),
      ].join('\n'),
    )
    return reply
  }
}

function readMessageFile(file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new MailboxError('invalid', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
