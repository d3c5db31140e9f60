import {Args} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {readSieveInput, sieveConfigFlag, sieveQuotaFrom} from '../../src/cli/sieve-config.js'
import {checkedSieve} from '../../src/sieve-scripts/scripts.js'
import {SIEVE_CAPABILITIES} from '../../src/sieve/index.js'

export default class SieveCheck extends MailboxCommand {
  static override summary = 'Check a Sieve script without storing it: each error as "line N: message" (exit 1), or ok.'
  static override description = `Opens no store. Extensions: ${SIEVE_CAPABILITIES.join(' ')}.`
  static override examples = ['<%= config.bin %> sieve check filters.sieve', 'cat filters.sieve | <%= config.bin %> sieve check -']
  static override args = {file: Args.string({required: true, ignoreStdin: true, description: 'the script file; - for stdin'})}
  static override flags = {config: sieveConfigFlag}

  async run() {
    const {args, flags} = await this.parse(SieveCheck)
    const quota = await sieveQuotaFrom(flags)
    const text = await readSieveInput(args.file, quota)
    const script = checkedSieve(text, quota, args.file === '-' ? 'the script' : args.file)
    const requires = [...script.requires]
    this.say(`${args.file === '-' ? 'stdin' : args.file}: ok${requires.length ? ` (requires ${requires.join(', ')})` : ''}`)
    return {ok: true, requires}
  }
}
