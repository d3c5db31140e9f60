import {writeFileSync} from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {profileFileName, userProfile} from '../../src/autoconfig/profile.js'
import {MailboxCommand} from '../../src/cli/base-command.js'
import {effectiveConfig} from '../../src/config.js'
import {MailboxError} from '../../src/errors.js'

export default class UserProfile extends MailboxCommand {
  static override summary = "Write a user's Apple configuration profile (.mobileconfig): their IMAP and submission settings, for iOS and macOS Mail."
  static override description =
    'The profile names the host and ports serve advertises (hostname, ports and clientSettings of --config), implicit TLS when that listener is on, the address as user name and no password: Mail asks for it when the profile is installed. It is unsigned, so the device says "Unverified" before installing. Made again for the same user it replaces the installed one. --json: {address, identifier, uuid, output, settings, profile}.'
  static override examples = [
    '<%= config.bin %> user profile alice@example.com --config /etc/mailbox/mailbox.jsonc --output alice.mobileconfig',
    '<%= config.bin %> user profile alice@example.com --hostname mail.example.com > alice.mobileconfig',
  ]
  static override args = {address: Args.string({required: true, ignoreStdin: true, description: "the user's address"})}
  static override flags = {
    config: Flags.string({summary: "The server's config file: its hostname, ports and clientSettings."}),
    hostname: Flags.string({summary: "The host name clients connect to (default: clientSettings.hostname, else hostname of --config, else the system's)."}),
    output: Flags.string({char: 'o', summary: 'Write the profile to this file (default: standard output; a name to use: USER-at-DOMAIN.mobileconfig).'}),
  }

  async run() {
    const {args, flags} = await this.parse(UserProfile)
    const config = effectiveConfig({dataDir: flags['data-dir'], configFile: flags.config, flags: {hostname: flags.hostname}})
    // --hostname is what the person running this means clients to use, over clientSettings too
    if (flags.hostname) config.clientSettings.hostname = flags.hostname
    const profile = await userProfile(await this.openStore(flags['data-dir'], {readOnly: true}), config, args.address)
    if (flags.output) {
      try {
        writeFileSync(flags.output, profile.text)
      } catch (err) {
        throw new MailboxError('invalid', `cannot write ${flags.output}: ${(err as NodeJS.ErrnoException).code}`)
      }
      this.say(`wrote ${flags.output}: the mail account ${profile.address} on ${profile.settings.hostname} (send it to the user, e.g. as ${profileFileName(profile.address)})`)
    } else if (!this.jsonEnabled()) {
      process.stdout.write(profile.text)
    }
    return {address: profile.address, identifier: profile.identifier, uuid: profile.uuid, output: flags.output ?? null, settings: profile.settings, profile: profile.text}
  }
}
