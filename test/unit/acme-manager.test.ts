/**
 * The ACME manager's schedule (src/acme/manager.ts) on a real LMDB store, with the CA replaced
 * by an orderer that hands out self-signed certificates with chosen dates (the real CA, pebble,
 * is test/e2e/acme.test.ts): missing names are ordered, kept and installed, and not ordered
 * again while valid; a due one is renewed; a failed order waits retryMinMs, then twice that; a
 * certificate another node put (already renewed) is taken instead of ordered; a domain added
 * later orders only its own names.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {DEFAULT_ACME, type AcmeConfig} from '../../src/acme/config.js'
import {AcmeManager, type Orderer} from '../../src/acme/manager.js'
import type {OrderRequest} from '../../src/acme/order.js'
import type {StoredCertificate} from '../../src/certs/types.js'
import {addDomain} from '../../src/directory/domains.js'
import {createLogger} from '../../src/log.js'
import type {Store} from '../../src/store/store.js'
import {loadTls} from '../../src/tls.js'
import {tempStore} from '../helpers/store.js'
import {until} from '../helpers/until.js'

const DAY = 24 * 3600_000
const HOST = 'mail.example.com'
let pem: {certPem: string; keyPem: string}
const dir = mkdtempSync(join(tmpdir(), 'mbx-acme-'))
beforeAll(async () => {
  const tls = await loadTls({dataDir: dir, hostname: HOST})
  pem = {certPem: tls.cert.toString(), keyPem: tls.key.toString()}
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const certificate = (name: string, notAfter: number): StoredCertificate => ({names: [name], ...pem, notBefore: Date.now() - DAY, notAfter, issuer: 'CN=test CA', source: 'acme', directory: 'https://ca.test/dir', updatedAt: Date.now()})

/** an orderer that fails while `failing` is set, else issues for 90 days */
class TestOrderer implements Orderer {
  readonly orders: OrderRequest[] = []
  failing: string | undefined
  async order(request: OrderRequest): Promise<StoredCertificate> {
    this.orders.push(request)
    if (this.failing) throw new Error(this.failing)
    return certificate(request.name, Date.now() + 90 * DAY)
  }
}

const managers: AcmeManager[] = []
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop()
})

function managerOn(store: Store, config: Partial<AcmeConfig> = {}) {
  const orderer = new TestOrderer()
  const installed: string[] = []
  const lines: Record<string, unknown>[] = []
  const log = createLogger({level: 'info', pretty: false, write: (line) => void lines.push(JSON.parse(line))})
  const live = {...DEFAULT_ACME, ...config, directory: 'https://ca.test/dir'}
  const manager = new AcmeManager(store, {install: (c) => void installed.push(c.names[0]!)}, orderer, {hostname: HOST, challenge: 'http-01', config: () => live}, log)
  managers.push(manager)
  return {manager, orderer, installed, lines, live}
}

describe('the ACME manager', () => {
  it('orders each missing name once, keeps it in the store, installs it, and orders nothing more while it is valid', async () => {
    const store = tempStore()
    await addDomain(store, 'example.com')
    const {manager, orderer, installed} = managerOn(store)
    await manager.check()
    const names = [HOST, 'mta-sts.example.com', 'autoconfig.example.com']
    expect(orderer.orders.map((o) => o.name)).toEqual(names)
    expect(installed).toEqual(names)
    expect((await store.certs.list()).map((c) => c.names[0]).sort()).toEqual([...names].sort())
    await manager.check()
    expect(orderer.orders).toHaveLength(3)
    expect(manager.status().names.map((n) => n.state)).toEqual(['valid', 'valid', 'valid'])
  })

  it('a kept certificate within renewBeforeMs of its end is renewed, one before it is not', async () => {
    const store = tempStore()
    await store.certs.put(certificate(HOST, Date.now() + 10 * DAY))
    const fresh = managerOn(store, {renewBeforeMs: 5 * DAY})
    await fresh.manager.check()
    expect(fresh.orderer.orders).toEqual([])
    expect(fresh.manager.status().names[0]).toMatchObject({name: HOST, state: 'valid', renewAt: expect.any(Number)})
    await fresh.manager.stop()
    const due = managerOn(store, {renewBeforeMs: 30 * DAY})
    await due.manager.check()
    expect(due.orderer.orders.map((o) => o.name)).toEqual([HOST])
    expect((await store.certs.get(HOST))!.notAfter).toBeGreaterThan(Date.now() + 80 * DAY)
  })

  it('a failed order is logged and waits retryMinMs, then twice that; status shows the error and the next attempt; a success clears it', async () => {
    const store = tempStore()
    const {manager, orderer, lines} = managerOn(store, {retryMinMs: 200, retryMaxMs: 10_000})
    orderer.failing = 'urn:ietf:params:acme:error:connection: refused'
    const t0 = Date.now()
    await manager.check()
    let status = manager.status().names[0]!
    expect(status).toMatchObject({name: HOST, state: 'failed', failures: 1, lastError: 'urn:ietf:params:acme:error:connection: refused'})
    expect(status.nextAttemptAt! - t0).toBeGreaterThanOrEqual(200)
    expect(lines.find((l) => l.msg === 'certificate order failed')).toMatchObject({name: HOST, failures: 1, level: 'warn'})
    await manager.check()
    expect(orderer.orders).toHaveLength(1) // not yet due again
    await until(() => Date.now() >= status.nextAttemptAt!)
    const t1 = Date.now()
    await manager.check()
    status = manager.status().names[0]!
    expect(status).toMatchObject({failures: 2, state: 'failed'})
    expect(status.nextAttemptAt! - t1).toBeGreaterThanOrEqual(400)
    orderer.failing = undefined
    await until(() => Date.now() >= status.nextAttemptAt!)
    await manager.check()
    expect(manager.status().names[0]).toMatchObject({state: 'valid', failures: 0})
    expect(manager.status().names[0]!.nextAttemptAt).toBeUndefined()
  })

  it('renew() orders now even when valid, and reports the new serial; a failing one reports its error', async () => {
    const store = tempStore()
    const {manager, orderer} = managerOn(store)
    await manager.check()
    expect(orderer.orders).toHaveLength(1)
    expect(await manager.renew()).toEqual([expect.objectContaining({name: HOST, ok: true, serial: expect.any(String)})])
    orderer.failing = 'rate limited'
    expect(await manager.renew(HOST.toUpperCase())).toEqual([{name: HOST, ok: false, error: 'rate limited'}])
    expect(orderer.orders).toHaveLength(3)
    // only the names this server certifies
    await expect(manager.renew('www.example.net')).rejects.toThrow(/^www.example.net is not a name this server orders certificates for \(mail.example.com\)/)
    expect(orderer.orders).toHaveLength(3)
  })

  it('orders one at a time: a check waiting behind an order re-reads the store and takes what was put meanwhile (by that order or another node) instead of ordering again', async () => {
    const store = tempStore()
    const {manager, orderer, installed} = managerOn(store)
    // while the first check orders, another node (same store) renews the name
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const order = orderer.order.bind(orderer)
    orderer.order = async (request) => {
      await gate
      return order(request)
    }
    const first = manager.renew()
    const second = manager.check()
    await store.certs.put(certificate(HOST, Date.now() + 60 * DAY))
    release()
    await Promise.all([first, second])
    expect(orderer.orders).toHaveLength(1)
    expect(installed.length).toBeGreaterThanOrEqual(1)
  })

  it('a domain added later: its names are ordered (after the directory settles), the others not again', async () => {
    const store = tempStore()
    const {manager, orderer} = managerOn(store)
    await manager.start()
    await until(() => orderer.orders.length === 1)
    await addDomain(store, 'example.org')
    await until(() => orderer.orders.length === 3, 15_000)
    expect(orderer.orders.map((o) => o.name)).toEqual([HOST, 'mta-sts.example.org', 'autoconfig.example.org'])
  }, 20_000)
})
