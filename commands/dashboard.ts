import {resolve} from 'node:path'
import {MailboxCommand} from '../src/cli/base-command.js'
import {runDashboard} from '../tui/dashboard.js'

export default class Dashboard extends MailboxCommand {
  static override summary = 'Watch and run the server from the terminal: live queue, throughput, events, users and folders.'
  static override description =
    'Connects to the running server through its control socket (reconnecting with backoff when it goes away) and reads the store directly. Without a server it shows the store and says so. Press ? for the keys.'
  static override enableJsonFlag = false
  static override examples = ['<%= config.bin %> dashboard', '<%= config.bin %> dashboard --data-dir /var/lib/mailbox']

  async run(): Promise<void> {
    const {flags} = await this.parse(Dashboard)
    const dataDir = resolve(flags['data-dir'])
    const store = await this.openStore(dataDir)
    // the terminal is restored whatever happens: blessed leaves raw mode and the alternate screen on destroy
    await runDashboard(store, dataDir)
  }
}
