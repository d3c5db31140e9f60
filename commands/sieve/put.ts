import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {readSieveInput, sieveConfigFlag, sieveQuotaFrom} from '../../src/cli/sieve-config.js'
import {existingUser} from '../../src/cli/user-arg.js'
import {putSieveScript} from '../../src/sieve-scripts/scripts.js'

export default class SievePut extends MailboxCommand {
  static override summary = "Store a Sieve script for a user (checked first), replacing one of that name; --activate makes it the one that runs."
  static override description =
    'The script is checked as ManageSieve checks an upload: a script with errors is not stored, and each error is printed as "line N: message" (exit 1). At most sieve.maxScripts scripts per user, each at most sieve.maxScriptBytes (config).'
  static override examples = [
    '<%= config.bin %> sieve put alice@example.com filters filters.sieve --activate',
    'cat filters.sieve | <%= config.bin %> sieve put alice@example.com filters -',
  ]
  static override args = {
    user: Args.string({required: true, ignoreStdin: true}),
    name: Args.string({required: true, ignoreStdin: true, description: 'the script name (at most 128 characters, no control characters or /)'}),
    file: Args.string({required: false, ignoreStdin: true, default: '-', description: 'the script file; - or none: stdin'}),
  }
  static override flags = {
    activate: Flags.boolean({summary: 'Make it the active script.'}),
    config: sieveConfigFlag,
  }

  async run() {
    const {args, flags} = await this.parse(SievePut)
    const quota = await sieveQuotaFrom(flags)
    const text = await readSieveInput(args.file, quota)
    const store = await this.openStore(flags['data-dir'])
    const user = await existingUser(store, args.user)
    const info = await putSieveScript(store, user, args.name, text, quota, flags.activate)
    this.say(`stored Sieve script ${JSON.stringify(info.name)} for ${user} (${info.size} bytes)${info.active ? ', active' : ''}`)
    return info
  }
}
