/**
 * Capture mode (`serve --capture`): every recipient of every domain is accepted over MX without
 * auth and stored, nothing is ever queued for relay.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import nodemailer from 'nodemailer'
import {runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {RawSmtp, counts, freePorts, headerFields, listMessages, showRaw} from './smtp-helpers.js'

let dataDir: string
let served: Served
let mx: number

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[mx] = await freePorts(1)
  served = await startServe(dataDir, ['--capture', '--smtp-port', String(mx)])
})

afterAll(async () => {
  await served?.stop()
})

describe('capture mode', () => {
  it('accepts mail for any address of any domain (no domains configured) and stores it per recipient', async () => {
    const c = await RawSmtp.open(mx)
    const features = await c.ehlo()
    expect(features.filter((f) => f.startsWith('AUTH'))).toEqual([])
    expect((await c.cmd('MAIL FROM:<app@service.test>')).code).toBe(250)
    const r1 = await c.cmd('RCPT TO:<someone@anything.test>')
    const r2 = await c.cmd('RCPT TO:<Other.Person@Else.Example>')
    expect([r1.code, r2.code], `${r1.raw} / ${r2.raw}`).toEqual([250, 250])
    const [, done] = await c.data('From: App <app@service.test>\r\nTo: someone@anything.test, Other.Person@Else.Example\r\nSubject: Reset your password\r\n\r\nclick here\r\n')
    expect(done?.code, done?.raw).toBe(250)
    await c.quit()

    const first = await listMessages(dataDir, 'someone@anything.test')
    expect(first).toHaveLength(1)
    expect(first[0]!.subject).toBe('Reset your password')
    expect(first[0]!.from).toMatch(/^"?App"? <app@service\.test>$/)
    const second = await listMessages(dataDir, 'other.person@else.example')
    expect(second.map((m) => m.subject)).toEqual(['Reset your password'])
    const raw = await showRaw(dataDir, 'someone@anything.test', first[0]!.uid)
    expect(headerFields(raw)[0]).toBe('Return-Path: <app@service.test>')
    expect(raw).toContain('\r\n\r\nclick here\r\n')

    const c2 = await counts(dataDir)
    expect(c2.messages).toBe(2)
    expect(c2.domains).toBe(0)
    expect(c2.queue).toEqual({queued: 0, sending: 0, deferred: 0, held: 0, delivered: 0, failed: 0})
  })

  it('a second message from nodemailer to a known and a new address; nothing queued, status agrees', async () => {
    const transport = nodemailer.createTransport({host: '127.0.0.1', port: mx, secure: false, ignoreTLS: true})
    const info = await transport.sendMail({from: 'noreply@shop.test', to: ['someone@anything.test', 'third@gmail.com'], subject: 'Your order', text: 'thanks'})
    transport.close()
    expect(info.accepted).toEqual(['someone@anything.test', 'third@gmail.com'])
    expect((await listMessages(dataDir, 'someone@anything.test')).map((m) => m.subject)).toEqual(['Reset your password', 'Your order'])
    expect((await listMessages(dataDir, 'third@gmail.com')).map((m) => m.subject)).toEqual(['Your order'])
    const status = await runJson(['status'], {dataDir})
    expect(status.running).toBe(true)
    expect(status.counts.messages).toBe(4)
    expect(status.counts.queue).toEqual({queued: 0, sending: 0, deferred: 0, held: 0, delivered: 0, failed: 0})
  })
})
