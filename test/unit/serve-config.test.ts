/**
 * The configuration `serve` starts and reloads with (effectiveConfig): the standard ports from
 * the flag or the config file, single port settings over them, and which changed settings a
 * reload leaves for a restart.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {LIVE_SECTIONS, assignLive, restartOnlyChanges} from '../../src/reload.js'
import {DEFAULT_PORTS, STANDARD_PORTS, effectiveConfig} from '../../src/config.js'

const dir = mkdtempSync(join(tmpdir(), 'mbx-serve-config-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const file = (name: string, content: object) => {
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(content))
  return path
}
const dataDir = join(dir, 'data')
const {matcher: _, ...unprivileged} = DEFAULT_PORTS

describe('standard ports', () => {
  it('are the IANA ports of SMTP, submission, SMTPS, IMAP(S), POP3(S)', () => {
    expect(STANDARD_PORTS).toEqual({smtp: 25, submission: 587, smtps: 465, imap: 143, imaps: 993, pop3: 110, pop3s: 995, http: 80, https: 443})
  })

  it('--standard-ports sets them all; a single port flag still wins; the matcher is left alone', () => {
    expect(effectiveConfig({dataDir, flags: {standardPorts: true}}).ports).toEqual(STANDARD_PORTS)
    expect(effectiveConfig({dataDir, flags: {standardPorts: true, ports: {pop3: 0, imap: 1143}}}).ports).toEqual({...STANDARD_PORTS, pop3: 0, imap: 1143})
    expect(effectiveConfig({dataDir, flags: {standardPorts: true, capture: true}}).ports.matcher).toBeUndefined()
    expect(effectiveConfig({dataDir, flags: {}}).ports).toEqual(unprivileged)
  })

  it('"standardPorts": true in the config file, with its own and the flags\' single ports over it', () => {
    const configFile = file('std.json', {standardPorts: true, ports: {pop3: 0, pop3s: 0}})
    expect(effectiveConfig({dataDir, configFile, flags: {}}).ports).toEqual({...STANDARD_PORTS, pop3: 0, pop3s: 0})
    expect(effectiveConfig({dataDir, configFile, flags: {ports: {smtp: 2525}}}).ports).toEqual({...STANDARD_PORTS, smtp: 2525, pop3: 0, pop3s: 0})
    expect(effectiveConfig({dataDir, configFile, flags: {}})).not.toHaveProperty('standardPorts')
  })

  it('the flag sets the standard ports over ports the config file chose', () => {
    const configFile = file('own.json', {ports: {smtp: 2500, imap: 2100}})
    expect(effectiveConfig({dataDir, configFile, flags: {standardPorts: true}}).ports).toEqual(STANDARD_PORTS)
  })
})

describe('reload', () => {
  it('names the changed settings that wait for a restart, and only those', () => {
    const running = effectiveConfig({dataDir, flags: {}})
    const same = effectiveConfig({dataDir, flags: {}})
    expect(restartOnlyChanges(running, same)).toEqual([])
    const next = effectiveConfig({
      dataDir,
      flags: {bind: '0.0.0.0', standardPorts: true, logLevel: 'debug', routes: {'example.net': '127.0.0.1:2626'}, smtp: {maxMessageSize: 4096, maxBufferedBytes: 1 << 20}, imap: {idleTimeoutMs: 1000}},
    })
    expect(restartOnlyChanges(running, next)).toEqual(['bind', 'ports', 'smtp.maxBufferedBytes'])
  })

  it('a live section takes the file as it is now: a key taken out goes back to unset (mtaSts.mx, acme.email, tlsRpt.from)', () => {
    const running = effectiveConfig({dataDir, configFile: file('before.json', {mtaSts: {mx: ['mx1.example.com'], mode: 'enforce'}, acme: {email: 'old@example.com'}, tlsRpt: {from: 'reports@example.com'}})})
    const next = effectiveConfig({dataDir, configFile: file('after.json', {mtaSts: {mode: 'enforce'}})})
    for (const section of LIVE_SECTIONS) assignLive(section, running[section], next[section])
    expect(running.mtaSts.mx).toBeUndefined()
    expect(running.acme.email).toBeUndefined()
    expect(running.tlsRpt.from).toBeUndefined()
    expect(running.mtaSts.mode).toBe('enforce')
    // a setting that waits for a restart keeps its running value
    const started = effectiveConfig({dataDir, configFile: file('acme.json', {acme: {directory: 'https://ca.example/dir'}})})
    assignLive('acme', started.acme, next.acme)
    expect(started.acme.directory).toBe('https://ca.example/dir')
  })
})
