/**
 * `mailbox init`: a new installation in one step, all of it checked before any of it is written.
 *
 * Order, so that a failure at any step leaves a state the next `mailbox init` explains:
 *  1. the inputs, then the refusals (an existing config or unit file, a store that holds
 *     domains), all reported at once;
 *  2. the TLS pair (generated into DATA_DIR/tls/ as serve would, reused when there);
 *  3. the config file and unit staged beside their destinations, the config checked by
 *     `config check`'s code (TLS pair included);
 *  4. the store: domain, DKIM keys, postmaster, aliases in one transaction;
 *  5. the staged files renamed into place.
 * A crash between 4 and 5 leaves a store with the domain and no config: the refusal then says so
 * and that --force finishes the job (keeping the domain and its keys, a new postmaster password).
 */
import {existsSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {isIP} from 'node:net'
import {dirname, join, resolve} from 'node:path'
import {LETS_ENCRYPT_DIRECTORY} from '../acme/config.js'
import {normalizeDomain} from '../address.js'
import {checkConfig, type ServeConfig} from '../config.js'
import {domainRecords, isPublishableAddress, type DnsRecord} from '../dns-records/records.js'
import {recordSetup} from '../dns-records/setup.js'
import {MailboxError} from '../errors.js'
import {ensureDataDir, openStore, storeExists, type Store} from '../store/store.js'
import {generatedTlsPaths, loadTls} from '../tls.js'
import {initConfigText} from './config-file.js'
import {setUpDirectory, storeDomains, type DirectorySetup} from './directory.js'
import {generatePassword} from './password.js'
import {stageFile, type StagedFile} from './staged-file.js'
import {PACKAGED_UNIT, systemdUnit} from './systemd-unit.js'

export interface InitRequest {
  hostname: string
  domain: string
  dataDir: string
  /** default: defaultConfigPath() */
  configFile?: string
  publicAddresses: string[]
  /** ACME on with Let's Encrypt, this the account's contact */
  acmeEmail?: string
  force: boolean
  /** whether root runs init: the config then goes to /etc/mailbox and the unit runs as `mailbox` */
  asRoot: boolean
  /** the account running init (the unit's User= when not root) */
  userName: string
  /** how the unit starts this program */
  command: string[]
}

export interface InitResult extends DirectorySetup {
  hostname: string
  dataDir: string
  configFile: string
  unitFile: string
  tlsCert: string
  tlsKey: string
  /** postmaster's password, shown once: only its hash is stored */
  password: string
  unitUser: string
  /** ACME on: the directory the config names */
  acme?: {directory: string; email: string}
  records: DnsRecord[]
  /** the next three commands to run */
  next: string[]
}

/** /etc/mailbox/mailbox.jsonc for root; otherwise mailbox.jsonc beside the data dir (./mailbox.jsonc for ./data) */
export function defaultConfigPath(dataDir: string, asRoot: boolean): string {
  return asRoot ? '/etc/mailbox/mailbox.jsonc' : join(dirname(resolve(dataDir)), 'mailbox.jsonc')
}

export const unitPathFor = (configFile: string) => join(dirname(configFile), 'mailbox.service')

/** a fully qualified domain name (no address, no single label), normalized; else undefined */
function fqdn(input: string): string | undefined {
  try {
    const name = normalizeDomain(input)
    return name.includes('.') && !isIP(name) ? name : undefined
  } catch {
    return undefined
  }
}

function checkInputs(request: InitRequest): {domain: string; hostname: string} {
  const domain = fqdn(request.domain)
  if (!domain) throw new MailboxError('invalid', `invalid --domain ${JSON.stringify(request.domain)}: not a fully qualified domain name (e.g. example.com)`)
  const hostname = fqdn(request.hostname)
  if (!hostname) throw new MailboxError('invalid', `invalid --hostname ${JSON.stringify(request.hostname)}: not a fully qualified host name (e.g. mail.${domain})`)
  for (const ip of request.publicAddresses) if (!isPublishableAddress(ip)) throw new MailboxError('invalid', `invalid --ip ${JSON.stringify(ip)}: not an IPv4 or IPv6 address`)
  return {domain, hostname}
}

/** every reason not to go on without --force, each saying what to do */
async function refusals(configFile: string, unitFile: string, dataDir: string, domain: string): Promise<string[]> {
  const problems: string[] = []
  for (const [what, path] of [
    ['config file', configFile],
    ['unit file', unitFile],
  ]) {
    if (existsSync(path)) problems.push(`${what} ${path} exists: init does not overwrite it (give --force to replace it, or --config FILE for another place)`)
  }
  if (storeExists(dataDir)) {
    const store = openStore(dataDir, {readOnly: true, create: false})
    let domains: string[]
    try {
      domains = await storeDomains(store)
    } finally {
      await store.close() // closed before init opens it to write
    }
    if (domains.length) {
      const halfDone = domains.includes(domain) && !existsSync(configFile)
      problems.push(
        `the store in ${dataDir} already holds ${domains.join(', ')}: init sets up a new installation (mailbox domain add adds a domain to this one)` +
          (halfDone
            ? `; ${configFile} does not exist, so an earlier init may have stopped halfway: --force finishes it (keeps ${domain} and its DKIM keys, gives postmaster@${domain} a new password)`
            : `; --force sets up ${domain} in it anyway (existing records are kept, postmaster@${domain} gets a new password)`),
      )
    }
  }
  return problems
}

/** the unit the Debian package installs (scripts/package/deb.ts): PACKAGED_UNIT's */
const PACKAGED_UNIT_FILE = '/lib/systemd/system/mailbox.service'

/**
 * Whether this is the Debian package's program setting up the package's own paths: its account
 * exists and its unit is installed (and enabled), so starting it is the one step left.
 */
function packaged(request: InitRequest, configFile: string, dataDir: string): boolean {
  const {command, configFile: packagedConfig, dataDir: packagedData} = PACKAGED_UNIT
  return request.asRoot && request.command.join(' ') === command.join(' ') && configFile === packagedConfig && dataDir === packagedData && existsSync(PACKAGED_UNIT_FILE)
}

function nextCommands(r: Pick<InitResult, 'domain' | 'configFile' | 'unitFile' | 'dataDir' | 'unitUser'>, asRoot: boolean, fromPackage: boolean): string[] {
  const dd = ` --data-dir ${r.dataDir}`
  const check = `mailbox domain check ${r.domain} --config ${r.configFile}${dd}   # once the DNS records above are published`
  if (fromPackage) {
    return [
      `chown -R ${r.unitUser}:${r.unitUser} ${r.dataDir}   # what init wrote as root (under systemd, StateDirectory= does it too)`,
      `systemctl enable --now mailbox   # the unit the package installed (${PACKAGED_UNIT_FILE})`,
      check,
    ]
  }
  const sudo = asRoot ? '' : 'sudo '
  const install = `${sudo}install -m 0644 ${r.unitFile} /etc/systemd/system/mailbox.service && ${sudo}systemctl daemon-reload && ${sudo}systemctl enable --now mailbox`
  if (!asRoot) return [install, `mailbox status${dd}`, check]
  // the unit runs as `mailbox`: the account first, and the data dir made its own (StateDirectory does that for /var/lib)
  const account = `id -u ${r.unitUser} >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin ${r.unitUser}; chown -R ${r.unitUser}:${r.unitUser} ${r.dataDir}`
  return [account, install, check]
}

async function ensureConfigDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, {recursive: true, mode: 0o755})
  } catch (err) {
    throw new MailboxError('unavailable', `cannot create the config directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

export async function runInit(request: InitRequest): Promise<InitResult> {
  const {domain, hostname} = checkInputs(request)
  const dataDir = resolve(request.dataDir)
  const configFile = resolve(request.configFile ?? defaultConfigPath(dataDir, request.asRoot))
  const unitFile = unitPathFor(configFile)
  if (!request.force) {
    const problems = await refusals(configFile, unitFile, dataDir, domain)
    if (problems.length) throw new MailboxError('exists', problems.join('\n'))
  }

  await ensureConfigDir(dirname(configFile))
  ensureDataDir(dataDir)
  await loadTls({dataDir, hostname})
  const {certFile: tlsCert, keyFile: tlsKey} = generatedTlsPaths(dataDir)
  const unitUser = request.asRoot ? 'mailbox' : request.userName
  const password = generatePassword()
  const staged: StagedFile[] = []
  let store: Store | undefined
  try {
    const acme = request.acmeEmail === undefined ? undefined : {directory: LETS_ENCRYPT_DIRECTORY, email: request.acmeEmail}
    staged.push(await stageFile(configFile, initConfigText({hostname, publicAddresses: request.publicAddresses, tlsCert, tlsKey, dataDir, configFile, ...(acme ? {acme} : {})})))
    // the real validator, on the very bytes that will be put in place
    const config: ServeConfig = checkConfig({dataDir, configFile: staged[0]!.tempPath})
    staged.push(await stageFile(unitFile, systemdUnit({command: request.command, configFile, dataDir, user: unitUser})))
    store = openStore(dataDir, {create: true})
    const setup = await setUpDirectory(store, domain, password)
    for (const file of staged) await file.commit()
    const records = domainRecords(await recordSetup(store, config, domain))
    const result = {...setup, hostname, dataDir, configFile, unitFile, tlsCert, tlsKey, password, unitUser, ...(acme ? {acme} : {}), records}
    return {...result, next: nextCommands(result, request.asRoot, packaged(request, configFile, dataDir))}
  } catch (err) {
    await Promise.all(staged.map((file) => file.discard()))
    throw err
  } finally {
    await store?.close()
  }
}
