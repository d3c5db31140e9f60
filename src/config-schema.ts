/**
 * The one description of every config file key: its type, range and meaning, and whether it is a
 * secret. Validation (validateConfig), `mailbox config show`'s redaction and the example file
 * (docs/mailbox.example.jsonc, see config-example.ts) all walk this tree, so they cannot drift
 * apart. Defaults are not repeated here: they stay in each module's DEFAULT_* constant, gathered by
 * defaultConfig() in config.ts; a unit test checks that the two trees have the same keys.
 */
import {isIP} from 'node:net'
import {normalizeAddress, normalizeDomain} from './address.js'
import {isHostName, parseHostPort} from './delivery/route.js'
import {isPublishableAddress} from './dns-records/records.js'
import {MailboxError} from './errors.js'
import {ACME_CHALLENGES, LETS_ENCRYPT_DIRECTORY} from './acme/config.js'
import {MIN_TOKEN_LENGTH} from './metrics/config.js'
import {isMxPattern, MAX_MAX_AGE} from './mta-sts/policy.js'
import {parseCidr} from './spam/greylist.js'
import {describeStoreUrl} from './store/pg/options.js'

/** What the example file and `config show` say about a key, besides its value. */
interface About {
  /** one line, for the example file */
  description: string
  /**
   * how `config show` hides it: `value` replaces the whole value; `userinfo` only the password of
   * a `user:pass@host:port` (the host stays visible)
   */
  secret?: 'value' | 'userinfo'
  /** a key without a fixed default: what happens when it is unset (the example shows it commented out) */
  unset?: string
  /** for a key with `unset`: the value the example's commented-out line shows */
  example?: unknown
  /** accepted for old config files, left out of the example */
  deprecated?: string
}

export type SchemaNode =
  /** `required`: keys an object in a list must have (a block-list zone's name) */
  | (About & {kind: 'object'; keys: Record<string, SchemaNode>; required?: readonly string[]})
  | (About & {kind: 'integer'; min: number; max: number; unit?: 'ms' | 'bytes'})
  /** any finite number in the range, fractions allowed (a spam test's weight) */
  | (About & {kind: 'number'; min: number; max: number})
  | (About & {kind: 'boolean'})
  | (About & {kind: 'enum'; values: readonly string[]})
  /** `check` throws a MailboxError whose message says what is wrong; it may return a normalized form */
  | (About & {kind: 'string'; check?: (value: string) => string | void})
  | (About & {kind: 'list'; item: SchemaNode})
  /** an object whose keys are data (domains), not names: `key` checks and normalizes each */
  | (About & {kind: 'map'; key: (key: string) => string; value: SchemaNode})

/** The largest delay setTimeout honours; anything longer fires at once (with a warning). */
export const MAX_TIMER_MS = 2 ** 31 - 1

const int = (description: string, min: number, max = Number.MAX_SAFE_INTEGER, unit?: 'ms' | 'bytes'): SchemaNode => ({kind: 'integer', description, min, max, ...(unit ? {unit} : {})})
/** a delay handed to a timer: at most MAX_TIMER_MS */
const timer = (description: string, min = 0): SchemaNode => int(description, min, MAX_TIMER_MS, 'ms')
/** a span compared against clocks, never a timer: may be longer than MAX_TIMER_MS */
const span = (description: string, min = 0): SchemaNode => int(description, min, Number.MAX_SAFE_INTEGER, 'ms')
const bytes = (description: string, min: number): SchemaNode => int(description, min, Number.MAX_SAFE_INTEGER, 'bytes')
const count = (description: string, min = 1): SchemaNode => int(description, min, 1_000_000)
const port = (description: string): SchemaNode => int(`${description}; 0 = off`, 0, 65535)
/** a port told to mail clients (clientSettings) */
const advertised = (description: string): SchemaNode => int(`${description}; 0 = not advertised`, 0, 65535)
const object = (description: string, keys: Record<string, SchemaNode>): SchemaNode => ({kind: 'object', description, keys})
const weight = (description: string): SchemaNode => ({kind: 'number', min: -100, max: 100, description})

/** `{zone, weight, codes?}`: a DNS list (codes: block lists only) */
function dnsList(description: string, codes: boolean): SchemaNode {
  return {
    kind: 'object',
    description,
    required: ['zone', 'weight'],
    keys: {
      zone: {kind: 'string', check: checkZone, description: 'the DNS zone'},
      weight: weight('added to the score when the client is listed'),
      ...(codes
        ? {
            codes: {
              kind: 'map',
              key: checkListCode,
              value: {kind: 'string', description: 'the reason, in the test name'},
              description: 'return codes (127.0.0.x) to reasons; other codes count without one',
            } as SchemaNode,
          }
        : {}),
    },
  }
}

function checkZone(value: string): string {
  const zone = value.toLowerCase().replace(/\.$/, '')
  if (!isHostName(zone) || isIP(zone) || !zone.includes('.')) throw new MailboxError('invalid', 'must be a DNS zone (zen.spamhaus.org)')
  return zone
}

/** a block list's return code: an address in 127.0.0.0/8 */
function checkListCode(value: string): string {
  if (isIP(value) !== 4 || !value.startsWith('127.')) throw new MailboxError('invalid', 'must be an address in 127.0.0.0/8 (127.0.0.2)')
  return value
}

/** an MTA-STS mx line: a host name or *.DOMAIN (RFC 8461 §3.2), kept lower-case */
function checkMxPattern(value: string): string {
  const pattern = value.trim().toLowerCase().replace(/\.$/, '')
  if (!isMxPattern(pattern) || isIP(pattern)) throw new MailboxError('invalid', 'must be a host name or *.DOMAIN (mail.example.com, *.mx.example.com)')
  return pattern
}

function checkHost(value: string): void {
  if (!isHostName(value)) throw new MailboxError('invalid', 'must be an IP address or a host name')
}

function checkPublicAddress(value: string): void {
  if (!isPublishableAddress(value)) throw new MailboxError('invalid', 'must be an IPv4 or IPv6 address (no %zone)')
}

/** `ip` or `ip:port` / `[ipv6]:port`, as Resolver.setServers takes them */
function checkDnsServer(value: string): void {
  if (isIP(value)) return
  const m = /^(?:\[([^\]]+)\]|([\d.]+)):(\d{1,5})$/.exec(value)
  const ip = m?.[1] ?? m?.[2]
  if (!m || !ip || !isIP(ip) || !(Number(m[3]) > 0 && Number(m[3]) < 65536)) throw new MailboxError('invalid', 'must be an IP address, optionally with :PORT ([IPv6]:PORT)')
}

/** a URL of one of `protocols` ('http:', 'https:'); `form` shows the shape in the error */
function urlCheck(protocols: string[], form: string, why = ''): (value: string) => void {
  return (value) => {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new MailboxError('invalid', `must be a URL, ${form}`)
    }
    if (!protocols.includes(url.protocol)) throw new MailboxError('invalid', `must be an ${protocols.map((p) => `${p}//`).join(' or ')} URL${why}`)
  }
}

/** an http:// or https:// URL (rspamd's workers) */
const checkHttpUrl = urlCheck(['http:', 'https:'], 'http://HOST:PORT')

/** RFC 8555 §6.1: ACME is spoken over HTTPS only */
const checkAcmeDirectory = urlCheck(['https:'], 'https://HOST/PATH', ' (RFC 8555 §6.1)')

function checkEmail(value: string): void {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) throw new MailboxError('invalid', 'must be an email address')
}

/** a next hop, `[user:pass@]host[:port]`: parseHostPort's own checks, its message never holding the password */
const checkHop = (value: string): void => void parseHostPort(value)

export const CONFIG_SCHEMA = object('mailbox serve --config FILE', {
  bind: {kind: 'string', check: checkHost, description: 'address every listener binds to (0.0.0.0 or :: for all)'},
  hostname: {
    kind: 'string',
    check: checkHost,
    description: 'host name in greetings and Received headers',
    unset: 'the system host name',
    example: 'mail.example.com',
  },
  publicAddresses: {
    kind: 'list',
    item: {kind: 'string', check: checkPublicAddress, description: 'IPv4 or IPv6 address'},
    description: "the host's public addresses: its A/AAAA records and SPF ip4:/ip6: terms in `mailbox domain dns`; empty: SPF by mx only",
  },
  ports: object('listener ports', {
    smtp: port('SMTP (MX)'),
    submission: port('submission with STARTTLS'),
    smtps: port('submission over implicit TLS'),
    imap: port('IMAP with STARTTLS'),
    imaps: port('IMAP over implicit TLS'),
    pop3: port('POP3 with STLS'),
    pop3s: port('POP3 over implicit TLS'),
    http: {...port('HTTP: ACME HTTP-01 challenges, MTA-STS and autoconfig answers (80 is the standard port, with standardPorts)'), example: 80},
    https: {...port('HTTPS, certificates by SNI; ACME TLS-ALPN-01 (443 is the standard port, with standardPorts)'), example: 443},
    matcher: {...port('test matcher protocol'), unset: 'on (60510) in capture mode, off otherwise', example: 60510},
  }),
  standardPorts: {kind: 'boolean', description: 'listen on 25, 587, 465, 143, 993, 110, 995, 80, 443 (ports.* still set single ones)', unset: 'false: the unprivileged ports above', example: true},
  capture: {kind: 'boolean', description: 'capture mode: accept mail for every address of every domain and never relay'},
  captureRetention: object('capture mode: captured mail is pruned in the background, oldest first, from every INBOX', {
    maxAgeMs: span('mail that arrived longer ago is removed; 0 = no age limit', 0),
    maxMessages: int('each mailbox keeps its newest this many; 0 = no count limit', 0, 1_000_000_000),
    intervalMs: timer('from the end of one pruning run to the start of the next', 100),
    batch: count('messages one commit removes at most (the protocols are served between commits)', 1),
  }),
  allowInsecureAuth: {kind: 'boolean', description: 'allow plaintext passwords without TLS (loopback development only)'},
  clientSettings: object("what mail clients are told to connect to (Thunderbird autoconfig, Autodiscover, mailbox user profile) where it is not this host's name and listening ports: NAT or a proxy", {
    hostname: {kind: 'string', check: checkHost, description: 'the host name clients connect to', unset: 'hostname', example: 'mail.example.com'},
    ports: object('per listener, the port clients connect to (a listener that is off is never advertised)', {
      imaps: {...advertised('IMAP over implicit TLS'), unset: 'ports.imaps', example: 993},
      imap: {...advertised('IMAP with STARTTLS'), unset: 'ports.imap', example: 143},
      pop3s: {...advertised('POP3 over implicit TLS'), unset: 'ports.pop3s', example: 995},
      pop3: {...advertised('POP3 with STLS'), unset: 'ports.pop3', example: 110},
      smtps: {...advertised('submission over implicit TLS'), unset: 'ports.smtps', example: 465},
      submission: {...advertised('submission with STARTTLS'), unset: 'ports.submission', example: 587},
    }),
  }),
  logLevel: {kind: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'silent'], description: 'log level'},
  store: {
    kind: 'string',
    check: (v) => void describeStoreUrl(v),
    secret: 'userinfo',
    description: 'the store: a postgres:// URL shared by several nodes (also --store, $MAILBOX_STORE)',
    unset: 'the LMDB store in the data dir',
    example: 'postgres://mailbox:secret@db.example.com:5432/mailbox',
  },
  storePool: object('connections of this node to a PostgreSQL store (with store set)', {
    size: count('connections at most'),
    statementTimeoutMs: timer('a statement running longer is cancelled by the server', 1),
    idleInTransactionTimeoutMs: timer("a session this long idle in an open transaction is ended by the server (a stalled node's row locks are released)", 1),
    connectTimeoutMs: timer('how long to wait for a connection', 1),
  }),
  nodeId: {
    kind: 'string',
    check: (v) => {
      if (v.length > 128) throw new MailboxError('invalid', 'must be at most 128 characters')
    },
    description: "this node's name in the cluster's registry (mailbox status), with a PostgreSQL store",
    unset: 'the host name and a hash of the data dir',
    example: 'mx1',
  },
  tlsCert: {kind: 'string', description: 'TLS certificate (PEM file)', unset: 'a self-signed pair is generated into DATA_DIR/tls/', example: '/etc/mailbox/cert.pem'},
  tlsKey: {kind: 'string', description: 'TLS private key (PEM file)', unset: 'see tlsCert', example: '/etc/mailbox/key.pem'},
  relay: object('smarthost for all outbound mail', {
    host: {
      kind: 'string',
      check: (v) => void parseHostPort(v, 587),
      secret: 'userinfo',
      description: 'HOST[:PORT] (port 587 unless given)',
      unset: 'no smarthost: mail goes by routes and MX',
      example: 'smtp.example.com:587',
    },
    user: {kind: 'string', description: 'user name for AUTH at the smarthost', unset: 'no AUTH', example: 'mailbox'},
    passwordFile: {
      kind: 'string',
      description: 'file holding the smarthost password (mode 0600)',
      unset: 'the password comes from $MAILBOX_RELAY_PASSWORD',
      example: '/etc/mailbox/relay.password',
    },
    caFile: {kind: 'string', description: "PEM CA certificates trusted for the smarthost, besides Node's", unset: "Node's trust store only", example: '/etc/mailbox/relay-ca.pem'},
    insecure: {kind: 'boolean', description: 'send credentials without verified TLS (a lab only)'},
  }),
  relayHost: {kind: 'string', check: checkHop, secret: 'userinfo', description: 'same as relay.host', deprecated: 'use relay.host'},
  routes: {
    kind: 'map',
    key: normalizeDomain,
    value: {kind: 'string', check: checkHop, secret: 'userinfo', description: 'next hop, HOST:PORT'},
    description: 'per-domain next hops overriding DNS, {"example.net": "127.0.0.1:2626"}',
  },
  dnsServers: {kind: 'list', item: {kind: 'string', check: checkDnsServer, description: 'IP or IP:PORT'}, description: 'DNS servers for MX lookups, inbound SPF/DKIM/DMARC and `mailbox domain check`, IP or IP:PORT; empty: the system resolver'},
  mtaSts: object('MTA-STS (RFC 8461): the policy served for each local domain at https://mta-sts.DOMAIN/.well-known/mta-sts.txt, and remote domains\' policies applied to outbound mail', {
    mode: {kind: 'enum', values: ['testing', 'enforce', 'none'], description: 'the served policy\'s mode: testing (senders report, deliver anyway), enforce (needs a CA-signed certificate on the MX host), none (withdraws a policy)'},
    mx: {
      kind: 'list',
      item: {kind: 'string', check: checkMxPattern, description: 'a host name, or *.DOMAIN for one label'},
      description: 'the served policy\'s mx lines',
      unset: 'the hostname',
      example: ['mail.example.com', '*.mx.example.com'],
    },
    maxAge: int('the served policy\'s max_age: how long senders keep it, in seconds (RFC 8461: weeks)', 0, MAX_MAX_AGE),
    outbound: {kind: 'boolean', description: 'apply recipient domains\' policies to mail delivered by MX (not through a route or the smarthost): enforce delivers only to listed MX hosts over verified TLS, else defers'},
    caFile: {kind: 'string', description: "PEM CA certificates trusted for MTA-STS policy hosts and MX hosts, besides Node's", unset: "Node's trust store only", example: '/etc/mailbox/sts-ca.pem'},
    policyPort: int('the port remote policies are fetched from: 443 (another only for tests, which cannot listen on 443)', 1, 65535),
    fetchTimeoutMs: timer('a remote policy fetch (connect, TLS and body) ends within this', 100),
    maxPolicyBytes: bytes('a remote policy body larger than this is refused', 1024),
  }),
  inboundAuth: object('SPF, DKIM, DMARC and ARC checks of mail from outside on the MX (not submission, not capture mode)', {
    mode: {kind: 'enum', values: ['enforce', 'monitor', 'off'], description: 'enforce: refuse DMARC reject and forged local senders, junk DMARC quarantine; monitor: only record; off: no checks'},
    onTempError: {kind: 'enum', values: ['defer', 'accept'], description: 'a DNS failure: defer (451 4.7.0) or accept with temperror recorded'},
    dnsBudgetMs: timer('all DNS lookups of one message together end within this (then temperror)', 100),
    dnsCacheEntries: count('DNS answers cached; 0: no cache', 0),
    dnsCacheTtlMs: span('how long a DNS answer (or a name that does not exist) is cached'),
    maxDkimSignatures: count('DKIM signatures verified per message; later ones are ignored'),
    verifierThreads: int('threads verifying messages and signing outgoing ones beside the event loop (restart to change)', 1, 64),
    threadMemoryMb: int('JavaScript heap of each of those threads, MiB: a message that needs more is deferred and its thread replaced (restart to change)', 16, 16_384),
    arcTrustedSealers: {
      kind: 'list',
      item: {kind: 'string', check: (d) => normalizeDomain(d), description: 'a domain'},
      description: 'forwarders (mailing lists) whose ARC seals are trusted: a DMARC fail they vouch for (their ARC-Authentication-Results say dmarc=pass for the same From domain) is accepted',
    },
  }),
  // -- spam: the built-in checks (src/spam/); greylist and rspamd sub-objects go at the end of this block
  spam: object('spam checks of mail from outside on the MX (not submission, not capture mode): a score from DNS lists, HELO, unknown recipients and SPF/DKIM/DMARC', {
    mode: {kind: 'enum', values: ['enforce', 'monitor', 'off'], description: 'enforce: refuse and junk by the score; monitor: score, log and add headers, deliver everything; off: no checks'},
    dnsbl: {
      kind: 'list',
      item: dnsList('a DNS block list: {"zone": "zen.spamhaus.org", "weight": 10, "codes": {"127.0.0.2": "SBL", "127.0.0.4": "XBL"}}', true),
      description: 'DNS block lists the client address is looked up in; a listing adds the zone\'s weight (each code named in the tests: DNSBL_ZEN_SBL)',
    },
    dnswl: {
      kind: 'list',
      item: dnsList('a DNS allow list: {"zone": "list.dnswl.org", "weight": -5}', false),
      description: 'DNS allow lists; a listing adds the (negative) weight, and a listed client skips greylisting',
    },
    heloChecks: object('weights of the HELO/EHLO name checks (0 = off)', {
      noDot: weight('the name has no dot'),
      ipMismatch: weight("the name is an IP address other than the client's"),
      ours: weight('localhost or our own host name, from a client that is not this host'),
      notResolving: weight('the name has no A or AAAA record (a DNS lookup per new name)'),
    }),
    authChecks: object('weights of the SPF/DKIM/DMARC results of inbound authentication (0 = off)', {
      spfFail: weight('SPF fail'),
      spfSoftfail: weight('SPF softfail'),
      dkimFail: weight('a DKIM signature that fails'),
      dmarcFail: weight('DMARC fail the domain policy let through (p=none, pct)'),
    }),
    unknownRecipientWeight: weight('added per unknown recipient the connection tried'),
    maxUnknownRecipients: count('unknown recipients tolerated per connection; the next one gets 421 and the connection is closed'),
    junkScore: {kind: 'number', min: -1000, max: 1000, description: 'from this score on, mail goes to Junk (X-Spam-Status: Yes)'},
    rejectScore: {kind: 'number', min: -1000, max: 1000, description: 'from this score on, mail is refused at the end of DATA with 550 5.7.1'},
    addHeaders: {kind: 'boolean', description: 'X-Spam-Score and X-Spam-Status on every scored message (forged ones are always removed)'},
    dnsBudgetMs: timer("all DNS list lookups of a connection (and its HELO name's) end within this; later: not listed", 100),
    dnsCacheEntries: count('DNS list answers cached; 0: no cache', 0),
    dnsCacheTtlMs: span('how long a DNS list answer is cached'),
    rspamd: object("rspamd, when one runs: every inbound message is checked by its normal worker (its action honoured), and users' moves into and out of Junk train it through its controller", {
      url: {
        kind: 'string',
        check: checkHttpUrl,
        description: "rspamd's normal worker (also --rspamd URL)",
        unset: 'no rspamd: the built-in checks decide alone',
        example: 'http://127.0.0.1:11333',
      },
      timeoutMs: timer('a check taking longer fails open: the message is taken as if rspamd had not been asked (logged and counted)', 100),
      maxConnections: count('connections to rspamd at most; checks beyond wait for one (within timeoutMs)'),
      maxReplyBytes: bytes("a reply of rspamd's larger than this is a failed check", 1024),
      controllerUrl: {
        kind: 'string',
        check: checkHttpUrl,
        description: "rspamd's controller, where learning goes",
        unset: 'no learning: moves into and out of Junk are only counted',
        example: 'http://127.0.0.1:11334',
      },
      password: {kind: 'string', secret: 'value', description: "the controller's password", unset: 'none (or passwordFile)', example: 'a-controller-password'},
      passwordFile: {kind: 'string', description: "file holding the controller's password (mode 0600)", unset: 'the password key, or none', example: '/etc/mailbox/rspamd.password'},
      learn: {kind: 'boolean', description: 'train rspamd: a message moved (or copied) into Junk as spam, one moved out of Junk (not to Trash) as ham'},
      learnMaxQueued: count('learning jobs waiting at most (durable queue); moves beyond are counted and not trained'),
      learnMaxAttempts: count('attempts per learning job before it is given up (logged and counted)'),
      learnRetryMs: timer('wait after a failed learning attempt; doubles with each further one, up to an hour', 100),
    }),
    greylist: object('greylisting (RFC 6647): an unknown (client network, sender, recipient) triplet gets 450 4.7.1 at RCPT until the client retries after delayMs', {
      enabled: {kind: 'boolean', description: 'greylist mail from outside; authenticated sessions, allowNetworks and the null sender from a network that passed before are never greylisted'},
      delayMs: span('a retry sooner than this after the first try is refused again', 0),
      retryWindowMs: span('a retry later than this after the first try counts as a new first try', 1),
      passTtlMs: span('a triplet that passed keeps passing while seen at least this often (each pass refreshes it)', 1),
      maxEntries: int('triplets kept at most; beyond it new ones pass without being recorded (fail open, logged once a minute)', 1, 1_000_000_000),
      allowNetworks: {
        kind: 'list',
        item: {kind: 'string', check: (v) => void parseCidr(v), description: 'an IPv4 or IPv6 address or CIDR block'},
        description: 'client networks never greylisted (backup MX, partners), e.g. ["192.0.2.0/24", "2001:db8::/32"]',
      },
    }),
  }),
  // -- end of spam
  auth: object('login throttling and the familiar-network cache', {
    windowMs: span('how long a failed login counts against its source', 1),
    maxFailuresPerAddress: count('failures from one address (network) before it is refused'),
    maxFailuresPerUserAddress: count('failures for one user from one address before refusal'),
    maxFailuresPerUser: count('failures for one user from unfamiliar sources before refusal'),
    failureDelayMs: timer('delay before answering the first failure from a source; doubles with each further one'),
    maxFailureDelayMs: timer('cap on that delay'),
    familiarAddressMs: span("how long a network stays familiar after a user's last successful login from it; 0: never"),
    maxFamiliarAddresses: count('familiar networks kept per user', 0),
    verifiedCacheMs: span('how long a successful password check is remembered; 0: always verify'),
  }),
  smtp: object('SMTP, submission and SMTPS limits', {
    maxMessageSize: bytes('largest message accepted, advertised with SIZE', 1024),
    maxRecipients: count('recipients per message'),
    maxConnections: count('connections per listener'),
    maxConnectionsPerIp: count('connections from one IP across all SMTP listeners'),
    socketTimeoutMs: timer('idle time allowed between commands', 1000),
    closeTimeoutMs: timer('how long a graceful stop waits for open transactions'),
    maxReceivedHeaders: count('more Received headers than this: a mail loop'),
    greetingDelayMs: timer('MX only: pause before the greeting; a client that talks first is dropped'),
    maxBufferedBytes: bytes('message bytes held in memory across all sessions', 64 * 1024),
  }),
  imap: object('IMAP and IMAPS limits', {
    maxLineLength: bytes('longest command line, literals excluded', 1024),
    maxLiteralSize: bytes('largest literal: an APPENDed message', 1024),
    maxAppendSize: bytes("all literals of one command together: a MULTIAPPEND's messages, a CATENATE's parts", 1024),
    maxAppendMessages: count('messages in one APPEND (MULTIAPPEND)'),
    maxConnections: count('connections across IMAP and IMAPS'),
    maxConnectionsPerIp: count('connections from one IP'),
    idleTimeoutMs: timer('inactivity autologout, IDLE included', 1000),
    preauthTimeoutMs: timer('inactivity allowed before login', 1000),
    handshakeTimeoutMs: timer('an unfinished TLS handshake is dropped after this', 1000),
    lingerMs: timer('after the server closes, how long the client may read the last reply'),
    compressionLevel: int('COMPRESS=DEFLATE level: 1 fastest … 9 smallest', 1, 9),
    maxNotifyPending: count('NOTIFY: changed folders and folder events a session keeps to report (while a command runs or the client does not read); past it [NOTIFICATIONOVERFLOW] and NOTIFY is off'),
    maxSearchContexts: count('live SEARCH or SORT RETURN (UPDATE) contexts per session (CONTEXT=SEARCH, CONTEXT=SORT)'),
    sortCacheEntries: int('messages whose SORT/THREAD keys are kept in memory (~450 bytes each); 0 = none', 0, 100_000_000),
  }),
  pop3: object('POP3 and POP3S limits', {
    maxLineLength: bytes('longest command line, CRLF excluded', 512),
    maxConnections: count('connections across POP3 and POP3S'),
    maxConnectionsPerIp: count('connections from one IP'),
    idleTimeoutMs: timer('inactivity autologout', 1000),
    maxBadCommands: count('bad commands tolerated before the connection is closed'),
    closeTimeoutMs: timer('on stop, how long a running command may take'),
    handshakeTimeoutMs: timer('an unfinished TLS handshake is dropped after this', 1000),
    lingerMs: timer('after the server closes, how long the client may read the last reply'),
  }),
  managesieve: object('ManageSieve (RFC 5804): users manage their Sieve scripts from their mail client (off unless port is set; also --managesieve-port)', {
    port: port('ManageSieve with STARTTLS (4190 is the standard port)'),
    maxLineLength: bytes('longest command line, literals (scripts) and CRLF excluded', 512),
    maxConnections: count('connections at once'),
    maxConnectionsPerIp: count('connections from one IP'),
    idleTimeoutMs: timer('inactivity before the server says BYE', 1000),
    maxBadCommands: count('bad commands tolerated before the connection is closed'),
    maxCommandsBeforeAuth: count('commands a connection may send before it logs in'),
    closeTimeoutMs: timer('on stop, how long a running command may take'),
    handshakeTimeoutMs: timer('an unfinished TLS handshake is dropped after this', 1000),
    lingerMs: timer('after the server closes, how long the client may read the last reply'),
  }),
  http: object('the HTTP side (ports.http, ports.https): bounds on what a client sends', {
    maxRequestBytes: bytes('largest request body (POST); more is answered 413', 0),
    maxHeaderBytes: bytes('request line and headers together; more is answered 431', 1024),
    requestTimeoutMs: timer('a request not whole (headers and body) by then is answered 408', 1000),
    keepAliveTimeoutMs: timer('an idle kept-alive connection is closed after this', 100),
    maxConnections: count('connections per listener (HTTP, HTTPS)'),
    maxConnectionsPerIp: count('connections from one IP, HTTP and HTTPS together (one client cannot take every slot and hold off the CA\'s validations)'),
    handshakeTimeoutMs: timer('HTTPS: the ClientHello and TLS handshake must finish within this', 100),
    closeTimeoutMs: timer('on stop, how long a request being answered may take'),
  }),
  matcher: object('the test matcher protocol (capture mode)', {
    maxLineBytes: bytes('longest protocol line', 1024),
    maxMatchesPerConnection: count('pending matches per connection'),
    maxPendingMatches: count('pending matches of all connections together'),
    maxConnections: count('matcher connections'),
    maxConnectionsPerIp: count('matcher connections from one IP'),
    pingIntervalMs: timer('how often an idle client is PINGed', 100),
    pingTimeoutMs: timer('how long a PING may go unanswered', 100),
    helloTimeoutMs: timer('from connect to a successful OLLEH (then ERROR and close)', 100),
    token: {
      kind: 'string',
      check: (v) => {
        if (v.trim().length < 16) throw new MailboxError('invalid', 'must be at least 16 characters')
      },
      secret: 'value',
      description: 'shared secret clients send in OLLEH (at least 16 characters); also $MAILBOX_MATCHER_TOKEN',
      unset: 'none on loopback; beyond loopback one is generated into DATA_DIR/matcher.token',
      example: 'a-long-random-shared-secret',
    },
  }),
  metrics: object('monitoring over HTTP: Prometheus text format at /metrics, GET /healthz (off unless port is set; also --metrics-port)', {
    port: port('HTTP port of /metrics and /healthz'),
    host: {kind: 'string', check: checkHost, description: 'address it binds; beyond loopback it will not start without a token'},
    token: {
      kind: 'string',
      check: (v) => {
        if (v.trim().length < MIN_TOKEN_LENGTH) throw new MailboxError('invalid', `must be at least ${MIN_TOKEN_LENGTH} characters`)
      },
      secret: 'value',
      description: 'bearer token scrapers must send (Authorization: Bearer …); required off loopback; also $MAILBOX_METRICS_TOKEN',
      unset: 'none: only allowed on loopback',
      example: 'a-long-random-scrape-token',
    },
    maxConnections: count('open HTTP connections at once'),
    headersTimeoutMs: timer("a request's headers must arrive within this", 100),
    requestTimeoutMs: timer('a whole request must arrive within this', 100),
  }),
  acme: object('certificates obtained and renewed by ACME (RFC 8555) for the host name and mta-sts./autoconfig. of each local domain (off unless directory is set; also --acme-directory)', {
    directory: {
      kind: 'string',
      check: checkAcmeDirectory,
      description: "the CA's ACME directory URL",
      unset: 'no certificates are ordered: the configured or self-signed one serves',
      example: LETS_ENCRYPT_DIRECTORY,
    },
    email: {kind: 'string', check: checkEmail, description: 'contact address of the ACME account: the CA writes about expiry and problems', unset: 'an account without contact', example: 'postmaster@example.com'},
    caFile: {kind: 'string', description: "PEM CA certificates trusted for the directory's HTTPS, besides Node's (a private CA)", unset: "Node's trust store only", example: '/etc/mailbox/acme-ca.pem'},
    renewBeforeMs: span('a certificate is renewed this long before it expires', 60_000),
    checkIntervalMs: timer('how often certificates are checked for renewal (sooner when one falls due)', 1000),
    retryMinMs: timer('wait after a failed order; it doubles with each failure in a row', 1000),
    retryMaxMs: timer('the longest wait between failed orders', 1000),
    challenge: {kind: 'enum', values: ACME_CHALLENGES, description: 'auto: TLS-ALPN-01 when the HTTPS port listens, else HTTP-01 (on the HTTP port)'},
    orderTimeoutMs: timer('one order, from its creation to the certificate, is given up after this', 10_000),
  }),
  queue: object('the outbound queue', {
    senders: count('deliveries working at once', 1),
    perDomain: count('of them, at most this many to one destination domain', 1),
    senderNice: int('CPU priority (nice, 0-19) of the thread that runs the SMTP sessions: above 0, interactive IMAP/POP3/SMTP sessions go first when the cores are busy', 0, 19),
    connectTimeoutMs: timer('connecting to a next hop', 100),
    socketTimeoutMs: timer('waiting for a reply from a next hop', 100),
    retry: object('retry schedule of deferred deliveries', {
      scheduleMs: {kind: 'list', item: timer('a wait', 1), description: 'waits after the 1st, 2nd, … failed attempt; the last repeats'},
      maxLifetimeMs: span('recipients still undelivered after this fail and bounce', 1),
    }),
    retentionMs: span('delivered and failed entries (with their delivery logs) stay listable this long; 0 = kept for ever', 0),
    leaseSeconds: int('PostgreSQL store: how long a node holds a claimed entry without renewing (it renews a third of the way); a dead node’s entries are taken over by the others this long after its last renewal', 3, 86_400),
  }),
  dkim: object('DKIM signing of outgoing mail (keys: mailbox dkim list|rotate|remove)', {
    sign: {kind: 'boolean', description: "sign what leaves for remote domains from a local domain's address with its Ed25519 and RSA keys"},
    domains: {
      kind: 'map',
      key: normalizeDomain,
      value: {kind: 'boolean', description: 'sign this local domain’s mail, whatever `sign` says'},
      description: 'per local domain, instead of `sign`: {"example.org": false} sends its mail unsigned',
    },
  }),
  srs: object('SRS (sender rewriting) of mail forwarded to other domains, so SPF passes there; bounces to SRS addresses of local domains go back to the original sender', {
    enabled: {kind: 'boolean', description: 'rewrite the envelope sender of forwarded mail, and accept and route bounces to valid SRS addresses (off: SRS addresses are unknown users)'},
    maxAgeDays: int('a bounce to an SRS address made longer ago than this many days is refused (550 5.1.1)', 1, 1000),
  }),
  tlsRpt: object('daily TLS reports (RFC 8460) to the domains mail is delivered to by MX, for those that publish a _smtp._tls record', {
    enabled: {kind: 'boolean', description: 'count the TLS of outbound sessions to MX hosts and send the reports'},
    from: {kind: 'string', check: normalizeAddress, description: 'From (and envelope sender) of report mail; DKIM-signed when its domain is local', unset: "postmaster@ the hostname's local domain", example: 'postmaster@example.com'},
    organizationName: {kind: 'string', description: "the report's organization-name", unset: "the hostname's domain", example: 'Example Ltd'},
    contact: {kind: 'string', description: "the report's contact-info", unset: 'the From address', example: 'tls-reports@example.com'},
    intervalMs: timer('how often finished days are looked for', 100),
    sendAfterMs: int('how long after a UTC day ends its reports go out; negative down to -86400000 sends a day before it ends (tests)', -86_400_000, MAX_TIMER_MS, 'ms'),
    retentionMs: span('counts older than this are removed, sent or not', 86_400_000),
    flushMs: timer('counts gathered in memory go to the store this often; a crash loses at most this window of them', 100),
    maxDetails: count('failure-details rows per policy domain and day; further failures count in the summary only'),
    maxAttempts: count('runs that try a day (a DNS or https destination failing) before it is given up'),
    httpTimeoutMs: timer('an https report destination must answer within this', 100),
  }),
  sieve: object("users' Sieve filters (mailbox sieve …, mailbox user vacation), run at final delivery: folders, flags, redirects, rejects, vacation replies", {
    maxScripts: count('Sieve scripts one user may store', 1),
    maxScriptBytes: bytes('the largest Sieve script, in bytes (UTF-8)', 1),
    enabled: {kind: 'boolean', description: 'run each local recipient’s active script at delivery; false: every message goes to INBOX (or Junk) as without scripts'},
    maxSteps: count('commands, tests and comparisons one run may take; past it the message is kept in INBOX and the error logged'),
    maxMatchWork: count('character comparisons of :contains, :matches and :regex in one run (their time bound); past it: kept in INBOX', 1000),
    maxRedirects: int('distinct redirect addresses one script may send one message to', 0, 100),
  }),
})

/** `a.b`, or `routes["example.net"]` for keys that are not plain names */
export function keyPath(parent: string, key: string): string {
  const plain = /^[A-Za-z_$][\w$]*$/.test(key)
  if (!parent) return plain ? key : JSON.stringify(key)
  return plain ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`
}

/** Every key path of the schema with its node, depth first, in declaration order. */
export function* schemaEntries(node: SchemaNode = CONFIG_SCHEMA, path = ''): Generator<[string, SchemaNode]> {
  if (node.kind !== 'object') return
  for (const [key, child] of Object.entries(node.keys)) {
    const childPath = keyPath(path, key)
    yield [childPath, child]
    yield* schemaEntries(child, childPath)
  }
}

export const REDACTED = '(redacted)'

/** `user:pass@host:port` → `user:(redacted)@host:port` (after a `scheme://` too); anything without a password unchanged */
export function redactUserinfo(spec: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(spec)?.[0] ?? ''
  const rest = spec.slice(scheme.length)
  const at = rest.lastIndexOf('@')
  const colon = rest.indexOf(':')
  if (at < 0 || colon < 0 || colon > at) return spec
  return `${scheme}${rest.slice(0, colon)}:${REDACTED}@${rest.slice(at + 1)}`
}

/** a value as `config show` and error messages may print it */
export function redacted(node: SchemaNode, value: unknown): unknown {
  if (value === undefined) return value
  if (node.secret === 'value') return REDACTED
  if (node.secret === 'userinfo' && typeof value === 'string') return redactUserinfo(value)
  return value
}

/** `config` with every secret the schema marks replaced (see redacted); keys outside the schema pass unchanged */
export function redactConfig<T>(config: T, node: SchemaNode = CONFIG_SCHEMA): T {
  if (node.kind === 'object' && config && typeof config === 'object') {
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, Object.hasOwn(node.keys, k) ? redactConfig(v, node.keys[k]) : v])) as T
  }
  if (node.kind === 'map' && config && typeof config === 'object') {
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, redactConfig(v, node.value)])) as T
  }
  if (node.kind === 'list' && Array.isArray(config)) return config.map((v) => redactConfig(v, node.item)) as T
  return redacted(node, config) as T
}
