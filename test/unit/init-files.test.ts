/**
 * The files `mailbox init` writes, on their own: the config text passes the real validator with
 * the values given, the systemd unit follows the data dir's place (StateDirectory under /var/lib,
 * ReadWritePaths elsewhere, home dirs readable), quotes what systemd would split, and
 * docs/mailbox.service is exactly the unit for the packaged paths; passwords are strong and differ.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {LETS_ENCRYPT_DIRECTORY} from '../../src/acme/config.js'
import {defaultConfig, mergeConfig, readConfigFile} from '../../src/config.js'
import {initConfigText} from '../../src/init/config-file.js'
import {defaultConfigPath, unitPathFor} from '../../src/init/init.js'
import {generatePassword} from '../../src/init/password.js'
import {PACKAGED_UNIT, systemdUnit, systemdWord} from '../../src/init/systemd-unit.js'
import {ROOT} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'mbx-init-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('the config file init writes', () => {
  const settings = {hostname: 'mail.example.com', tlsCert: '/var/lib/mailbox/tls/cert.pem', tlsKey: '/var/lib/mailbox/tls/key.pem', dataDir: '/var/lib/mailbox', configFile: '/etc/mailbox/mailbox.jsonc'}

  it.each([
    [[], '0.0.0.0'],
    [['192.0.2.25'], '0.0.0.0'],
    [['192.0.2.25', '2001:db8::25'], '::'],
  ])('with public addresses %j: valid, binding %s, the standard ports, the TLS files', (publicAddresses, bind) => {
    const path = join(dir, `c${publicAddresses.length}.jsonc`)
    writeFileSync(path, initConfigText({...settings, publicAddresses}))
    const config = mergeConfig(defaultConfig('/var/lib/mailbox'), readConfigFile(path))
    expect(config).toMatchObject({bind, hostname: 'mail.example.com', publicAddresses, tlsCert: settings.tlsCert, tlsKey: settings.tlsKey})
    expect(config.ports).toEqual({smtp: 25, submission: 587, smtps: 465, imap: 143, imaps: 993, pop3: 110, pop3s: 995, http: 80, https: 443})
  })

  it("ACME: with an address (init --acme-email) Let's Encrypt's production directory is on; without, the same section is there commented out and ACME off", () => {
    const on = join(dir, 'acme-on.jsonc')
    writeFileSync(on, initConfigText({...settings, publicAddresses: [], acme: {directory: LETS_ENCRYPT_DIRECTORY, email: 'postmaster@example.com'}}))
    expect(mergeConfig(defaultConfig('/var/lib/mailbox'), readConfigFile(on)).acme).toMatchObject({directory: 'https://acme-v02.api.letsencrypt.org/directory', email: 'postmaster@example.com'})
    const off = join(dir, 'acme-off.jsonc')
    const text = initConfigText({...settings, publicAddresses: []})
    writeFileSync(off, text)
    expect(mergeConfig(defaultConfig('/var/lib/mailbox'), readConfigFile(off)).acme.directory).toBeUndefined()
    // removing the // of the commented line gives a valid config with ACME on
    const commented = text.split('\n').find((line) => line.includes('"acme"'))!
    expect(commented).toMatch(/^ {2}\/\/ "acme": /)
    writeFileSync(off, text.replace(commented, commented.replace('// ', '')))
    expect(mergeConfig(defaultConfig('/var/lib/mailbox'), readConfigFile(off)).acme).toMatchObject({directory: LETS_ENCRYPT_DIRECTORY, email: 'postmaster@example.com'})
  })
})

describe('the systemd unit', () => {
  it('docs/mailbox.service is the unit for the packaged paths (run `npm run gen:config-example` after changing it)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'mailbox.service'), 'utf8')).toBe(systemdUnit(PACKAGED_UNIT))
    // the Debian package installs it before `mailbox init` has written the config
    expect(systemdUnit(PACKAGED_UNIT)).toMatch(/^ConditionPathExists=\/etc\/mailbox\/mailbox.jsonc$/m)
  })

  it('a data dir in /var/lib is a StateDirectory; elsewhere it is made writable; under /home, home dirs stay readable', () => {
    expect(systemdUnit(PACKAGED_UNIT)).toMatch(/^StateDirectory=mailbox$/m)
    const srv = systemdUnit({...PACKAGED_UNIT, dataDir: '/srv/mail'})
    expect(srv).not.toMatch(/StateDirectory/)
    expect(srv).toMatch(/^ReadWritePaths=\/srv\/mail$/m)
    expect(srv).toMatch(/^ProtectHome=true$/m)
    const home = systemdUnit({command: ['/usr/bin/node', '/home/ann/mailbox/bin/mailbox'], configFile: '/home/ann/mailbox.jsonc', dataDir: '/home/ann/data', user: 'ann'})
    expect(home).toMatch(/^ProtectHome=read-only$/m)
    expect(home).toMatch(/^ExecStart=\/usr\/bin\/node \/home\/ann\/mailbox\/bin\/mailbox serve --config \/home\/ann\/mailbox.jsonc$/m)
    expect(home).toMatch(/^User=ann$/m)
  })

  it('quotes paths with spaces, quotes, backslashes, % and $ as systemd reads them', () => {
    expect(systemdWord('/usr/bin/mailbox')).toBe('/usr/bin/mailbox')
    expect(systemdWord('/srv/my mail')).toBe('"/srv/my mail"')
    expect(systemdWord('/srv/a"b\\c')).toBe('"/srv/a\\"b\\\\c"')
    const unit = systemdUnit({...PACKAGED_UNIT, dataDir: '/srv/my mail', configFile: '/etc/my mailbox/m.jsonc'})
    expect(unit).toMatch(/^Environment="MAILBOX_DATA_DIR=\/srv\/my mail"$/m)
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/mailbox serve --config "\/etc\/my mailbox\/m.jsonc"$/m)
    // a condition takes the rest of the line as the path, unquoted
    expect(unit).toMatch(/^ConditionPathExists=\/etc\/my mailbox\/m.jsonc$/m)
    // systemd specifiers and variables stay literal
    const odd = systemdUnit({...PACKAGED_UNIT, dataDir: '/srv/100%', configFile: '/etc/$HOME.jsonc'})
    expect(odd).toMatch(/^WorkingDirectory=\/srv\/100%%$/m)
    expect(odd).toMatch(/^ExecStart=\/usr\/bin\/mailbox serve --config \/etc\/\$\$HOME.jsonc$/m)
    expect(systemdUnit({...PACKAGED_UNIT, configFile: '/etc/100%.jsonc'})).toMatch(/^ConditionPathExists=\/etc\/100%%.jsonc$/m)
  })
})

describe('where init writes', () => {
  it('the config: /etc/mailbox for root, else beside the data dir; the unit beside the config', () => {
    expect(defaultConfigPath('/var/lib/mailbox', true)).toBe('/etc/mailbox/mailbox.jsonc')
    expect(defaultConfigPath('/srv/mail/data', false)).toBe('/srv/mail/mailbox.jsonc')
    expect(defaultConfigPath('data', false)).toBe(join(process.cwd(), 'mailbox.jsonc'))
    expect(unitPathFor('/etc/mailbox/mailbox.jsonc')).toBe('/etc/mailbox/mailbox.service')
  })
})

describe('generatePassword', () => {
  it('gives 24 characters of 57 (about 140 bits) in groups of six, never the same twice', () => {
    const seen = new Set(Array.from({length: 200}, () => generatePassword()))
    expect(seen.size).toBe(200)
    for (const password of seen) expect(password).toMatch(/^[A-HJ-NP-Za-km-z2-9]{6}(-[A-HJ-NP-Za-km-z2-9]{6}){3}$/)
  })
})
