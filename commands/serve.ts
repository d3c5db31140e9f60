import {Flags} from '@oclif/core'
import {App} from '../src/app.js'
import {MailboxCommand} from '../src/cli/base-command.js'
import {DEFAULT_PORTS, PORT_NAMES, STANDARD_PORTS, effectiveConfig, type ConfigLayer, type PortName} from '../src/config.js'
import {createLogger, logProcessWarnings, type Level} from '../src/log.js'
import {parseSize} from '../src/size.js'
import {parseHostPort, parseRouteSpecs, withoutCredentials} from '../src/delivery/route.js'
import {reloader} from '../src/reload.js'

const portFlag = (name: PortName, what: string, defaults = `default ${DEFAULT_PORTS[name]}`) =>
  Flags.integer({summary: `${what} port (${defaults}; 0 = off).`, min: 0, max: 65535, helpGroup: 'PORTS'})

export default class Serve extends MailboxCommand {
  static override summary = 'Run the mail server: SMTP, submission, IMAP, POP3, ManageSieve, queue, control socket (and the test matcher in capture mode) in one process.'
  static override description =
    'Listens on 127.0.0.1 and unprivileged ports unless told otherwise. Settings come from built-in defaults, then --config FILE (JSON with comments, validated at start and on reload), then the environment, then flags. Stops gracefully on SIGINT/SIGTERM; SIGHUP reloads the TLS certificate and key and the reloadable settings of the config file.'
  static override enableJsonFlag = false
  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --bind 0.0.0.0 --hostname mail.example.com --standard-ports',
    '<%= config.bin %> serve --bind 0.0.0.0 --hostname mail.example.com --smtp-port 25 --imap-port 143',
    '<%= config.bin %> serve --capture --smtp-port 1025',
  ]
  static override flags = {
    config: Flags.string({summary: 'Config file: JSON, comments allowed; every key in docs/mailbox.example.jsonc. Check it with `mailbox config check`.'}),
    bind: Flags.string({summary: 'Address to listen on (default 127.0.0.1).'}),
    hostname: Flags.string({summary: 'Host name used in greetings and Received headers (default: the system host name).'}),
    capture: Flags.boolean({summary: 'Capture mode: accept mail for every address of every domain and never relay.'}),
    'allow-insecure-auth': Flags.boolean({summary: 'Allow plaintext passwords without TLS (loopback development only).'}),
    'relay-host': Flags.string({summary: 'Smarthost for all outbound mail, HOST[:PORT] (default port 587). USER:PASS@HOST:PORT still works but shows the password in `ps`.'}),
    'relay-user': Flags.string({summary: 'User name for AUTH at the smarthost; the password comes from --relay-password-file or MAILBOX_RELAY_PASSWORD.'}),
    'relay-password-file': Flags.string({summary: 'File holding the smarthost password (mode 0600; one trailing newline is ignored).'}),
    'relay-ca-file': Flags.string({summary: "PEM CA certificates trusted for the smarthost's certificate, besides Node's trust store."}),
    'relay-insecure': Flags.boolean({summary: 'Send smarthost credentials without verified TLS (a lab only; logs a warning).'}),
    route: Flags.string({summary: 'Next hop for one domain, DOMAIN=HOST:PORT, overriding DNS (repeatable).', multiple: true, multipleNonGreedy: true}),
    'dns-server': Flags.string({summary: 'DNS server for MX lookups, IP or IP:PORT (repeatable; default: the system resolver).', multiple: true, multipleNonGreedy: true}),
    rspamd: Flags.string({summary: "rspamd's normal worker, e.g. http://127.0.0.1:11333: every inbound message is checked by it (config spam.rspamd for its controller, learning and timeout)."}),
    'tls-cert': Flags.string({summary: 'TLS certificate (PEM); default: a self-signed one generated into DATA_DIR/tls/.'}),
    'tls-key': Flags.string({summary: 'TLS private key (PEM).'}),
    'max-message-size': Flags.string({summary: 'Largest message accepted, e.g. 25M (default 25M).'}),
    'log-level': Flags.string({summary: 'Log level.', options: ['trace', 'debug', 'info', 'warn', 'error', 'silent']}),
    'standard-ports': Flags.boolean({
      summary: `Listen on the standard ports: ${Object.entries(STANDARD_PORTS).map(([name, port]) => `${name} ${port}`).join(', ')}. A --*-port flag still sets its own port.`,
      helpGroup: 'PORTS',
    }),
    'smtp-port': portFlag('smtp', 'SMTP (MX)'),
    'submission-port': portFlag('submission', 'Submission (STARTTLS)'),
    'smtps-port': portFlag('smtps', 'Submission over implicit TLS'),
    'imap-port': portFlag('imap', 'IMAP (STARTTLS)'),
    'imaps-port': portFlag('imaps', 'IMAP over implicit TLS'),
    'pop3-port': portFlag('pop3', 'POP3 (STLS)'),
    'pop3s-port': portFlag('pop3s', 'POP3 over implicit TLS'),
    'http-port': portFlag('http', 'HTTP (ACME HTTP-01, MTA-STS, autoconfig)', 'default off; 80 with --standard-ports'),
    'https-port': portFlag('https', 'HTTPS (certificates by SNI, ACME TLS-ALPN-01)', 'default off; 443 with --standard-ports'),
    'matcher-port': portFlag('matcher', 'Test matcher protocol', `default ${DEFAULT_PORTS.matcher} with --capture, otherwise off`),
    'managesieve-port': Flags.integer({
      summary: 'ManageSieve (RFC 5804, STARTTLS) port, where users manage their Sieve filters from their mail client (default off; 4190 is the standard port).',
      min: 0,
      max: 65535,
      helpGroup: 'PORTS',
    }),
    'metrics-port': Flags.integer({
      summary: 'Port of the monitoring listener: Prometheus /metrics and /healthz over HTTP (default off; binds metrics.host, 127.0.0.1 unless configured; beyond loopback it needs metrics.token or MAILBOX_METRICS_TOKEN).',
      min: 0,
      max: 65535,
      helpGroup: 'PORTS',
    }),
    'acme-directory': Flags.string({
      summary: "ACME directory URL of a CA (Let's Encrypt: https://acme-v02.api.letsencrypt.org/directory): certificates for the host name and mta-sts./autoconfig. of each local domain, obtained and renewed by themselves (needs the HTTPS or HTTP port, and DNS pointing here).",
      helpGroup: 'ACME',
    }),
    'acme-email': Flags.string({summary: 'Contact address of the ACME account (the CA writes about expiry and problems).', helpGroup: 'ACME'}),
    'acme-ca-file': Flags.string({summary: "PEM CA certificates trusted for the ACME directory's HTTPS, besides Node's (a private or test CA).", helpGroup: 'ACME'}),
    'matcher-token': Flags.string({
      summary: 'Token matcher clients must send (at least 16 characters). Without one, a matcher bound beyond loopback generates DATA_DIR/matcher.token.',
      env: 'MAILBOX_MATCHER_TOKEN',
    }),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Serve)
    const routes = flags.route ? parseRouteSpecs(flags.route) : undefined
    const given: ConfigLayer = {
      bind: flags.bind,
      hostname: flags.hostname,
      capture: flags.capture || undefined,
      allowInsecureAuth: flags['allow-insecure-auth'] || undefined,
      relay: {
        host: flags['relay-host'],
        user: flags['relay-user'],
        passwordFile: flags['relay-password-file'],
        caFile: flags['relay-ca-file'],
        insecure: flags['relay-insecure'] || undefined,
      },
      routes,
      dnsServers: flags['dns-server'],
      logLevel: flags['log-level'] as Level | undefined,
      store: flags.store,
      tlsCert: flags['tls-cert'],
      tlsKey: flags['tls-key'],
      matcher: {token: flags['matcher-token']},
      metrics: {port: flags['metrics-port']},
      acme: {directory: flags['acme-directory'], email: flags['acme-email'], caFile: flags['acme-ca-file']},
      managesieve: {port: flags['managesieve-port']},
      spam: {rspamd: {url: flags.rspamd}},
      smtp: {maxMessageSize: flags['max-message-size'] === undefined ? undefined : parseSize(flags['max-message-size'])},
      standardPorts: flags['standard-ports'] || undefined,
      ports: Object.fromEntries(PORT_NAMES.map((name) => [name, flags[`${name}-port`]])),
    }
    // validated completely (file, environment, flags) before anything is started or created;
    // a reload (SIGHUP) reads the file again and lays the same environment and flags over it
    const load = () => effectiveConfig({dataDir: flags['data-dir'], configFile: flags.config, flags: given})
    const config = load()
    const log = createLogger({level: config.logLevel})
    logProcessWarnings(log) // stdout stays JSON lines only
    // flags are in every local user's `ps`; a config file or the environment is not
    const hopsWithPassword = [flags['relay-host'], ...Object.values(routes ?? {})].filter((spec) => spec && parseHostPort(spec).auth?.pass)
    if (hopsWithPassword.length) {
      log.warn({hosts: hopsWithPassword.map((spec) => withoutCredentials(spec!))}, 'a password on the command line (--relay-host, --route) is visible in `ps`: use --relay-user with --relay-password-file or MAILBOX_RELAY_PASSWORD')
    }
    // Handlers go in before start: a signal that arrives while starting (or right after
    // "mailbox started" is logged) still gets a clean shutdown once start has finished.
    let signalled: NodeJS.Signals | undefined
    let wake: () => void = () => {}
    const onSignal = (signal: NodeJS.Signals) => {
      signalled ??= signal
      wake()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    // SIGHUP's default would end the process; one during start-up is done once started
    let hupWhileStarting = false
    let reload: () => void = () => (hupWhileStarting = true)
    process.on('SIGHUP', () => reload())
    const app = await App.start(config, log)
    reload = reloader(app, load, log)
    if (hupWhileStarting) reload()
    if (!signalled) await new Promise<void>((resolve) => (wake = resolve))
    reload = () => log.info({signal: 'SIGHUP'}, 'not reloading: shutting down')
    log.info({signal: signalled}, 'shutting down')
    try {
      await app.stop()
    } catch (err) {
      log.error({err}, 'shutdown failed')
      process.exitCode = 1
    }
  }
}
