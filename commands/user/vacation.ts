import {Args, Flags} from '@oclif/core'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {readInput} from '../../src/cli/read-input.js'
import {sieveConfigFlag, sieveQuotaFrom} from '../../src/cli/sieve-config.js'
import {existingUser} from '../../src/cli/user-arg.js'
import {MailboxError} from '../../src/errors.js'
import {vacationOff, vacationOn, vacationState, type VacationState} from '../../src/sieve-scripts/vacation.js'

export default class UserVacation extends MailboxCommand {
  static override summary = "Turn a user's away reply (Sieve vacation, RFC 5230) on or off, or show it."
  static override description = [
    'With --subject and --message-file: writes a Sieve script named "vacation" that answers each sender at most once per --days (default 7), never mailing lists, bulk mail or bounces, and activates it.',
    "The script that was active keeps working: its rules are copied after the reply (as they are now), and --off activates it again and removes \"vacation\". --until YYYY-MM-DD is the last day replies go out (the server's time zone).",
    'Without flags: shows whether vacation is on.',
  ].join('\n')
  static override examples = [
    '<%= config.bin %> user vacation alice@example.com --subject "Away until Monday" --message-file away.txt --until 2026-12-28',
    '<%= config.bin %> user vacation alice@example.com --off',
    '<%= config.bin %> user vacation alice@example.com --json',
  ]
  static override args = {user: Args.string({required: true, ignoreStdin: true})}
  static override flags = {
    subject: Flags.string({summary: 'The subject of the replies.'}),
    'message-file': Flags.string({summary: 'The text of the replies (UTF-8); - for stdin.'}),
    until: Flags.string({summary: 'YYYY-MM-DD: the last day replies go out.'}),
    days: Flags.integer({summary: 'At most one reply per sender in this many days (1 to 365; default 7).', min: 1, max: 365}),
    addresses: Flags.string({summary: "The user's other addresses mail may come to, comma-separated (replies are sent only to mail addressed to the user)."}),
    off: Flags.boolean({summary: 'Turn the away reply off (the script active before it is active again).', exclusive: ['subject', 'message-file', 'until', 'days', 'addresses']}),
    config: sieveConfigFlag,
  }

  async run() {
    const {args, flags} = await this.parse(UserVacation)
    const setting = flags.subject !== undefined || flags['message-file'] !== undefined || flags.until !== undefined || flags.days !== undefined || flags.addresses !== undefined
    if (setting && (flags.subject === undefined || flags['message-file'] === undefined)) {
      throw new MailboxError('invalid', 'turning vacation on takes both --subject and --message-file')
    }
    const quota = setting ? await sieveQuotaFrom(flags) : undefined
    const message = quota && (await readInput(flags['message-file']!, quota.maxScriptBytes, 'sieve.maxScriptBytes'))
    const store = await this.openStore(flags['data-dir'], {readOnly: !setting && !flags.off})
    const user = await existingUser(store, args.user)
    if (flags.off) {
      const state = await vacationOff(store, user)
      this.say(state.removed ? `vacation off for ${user}; ${activeLine(state)}` : `vacation was not on for ${user}`)
      return {user, ...state}
    }
    if (quota && message !== undefined) {
      const addresses = flags.addresses?.split(',').map((a) => a.trim()).filter(Boolean)
      const state = await vacationOn(store, user, {subject: flags.subject!, message, until: flags.until, days: flags.days, addresses}, quota)
      this.say(`vacation on for ${user}${flags.until ? ` until ${flags.until}` : ''}${state.previous ? `; the rules of ${JSON.stringify(state.previous)} still run, and --off activates it again` : ''}`)
      return {user, ...state}
    }
    const state = await vacationState(store, user)
    this.say(describe(user, state))
    return {user, ...state}
  }
}

const activeLine = (state: VacationState): string => (state.active ? `active Sieve script: ${JSON.stringify(state.active)}` : 'no Sieve script active')

function describe(user: string, state: VacationState): string {
  if (!state.on) return `vacation: off for ${user}; ${activeLine(state)}`
  const s = state.settings
  return [
    `vacation: on for ${user}`,
    ...(s ? [`subject:  ${s.subject}`, `until:    ${s.until ?? 'turned off'}`, `days:     ${s.days ?? 7}`, ...(s.addresses?.length ? [`addresses: ${s.addresses.join(', ')}`] : [])] : []),
    ...(state.previous ? [`previous: ${state.previous} (active again after --off)`] : []),
    ...(s ? ['message:', s.message] : []),
  ].join('\n')
}
