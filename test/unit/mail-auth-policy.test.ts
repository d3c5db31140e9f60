/**
 * The inbound policy (src/mail-auth/policy.ts): a local domain claimed from outside must pass SPF
 * or DKIM for itself whatever DMARC says; DNS failures defer (or accept, as configured); DMARC
 * reject refuses, quarantine junks, none accepts, each for the `pct` share the domain asks for;
 * monitor mode never acts.
 */
import {describe, expect, it} from 'vitest'
import {decide, type PolicyInput} from '../../src/mail-auth/policy.js'

const local = (d: string) => d === 'example.com'
const enforce = {mode: 'enforce', onTempError: 'defer'} as const
const base: PolicyInput = {spf: {result: 'none', domain: 'remote.test'}, dkim: [{result: 'none'}], dmarc: {result: 'none'}, mailFrom: 'x@remote.test', headerFrom: ['x@remote.test']}
const act = (v: Partial<PolicyInput>, config: Parameters<typeof decide>[2] = enforce) => decide({...base, ...v}, local, config).action

describe('decide', () => {
  it('a local domain claimed from outside must pass SPF or DKIM for itself (or a subdomain)', () => {
    expect(act({mailFrom: 'a@example.com', spf: {result: 'neutral', domain: 'example.com'}})).toBe('reject')
    expect(act({headerFrom: ['a@Example.COM']})).toBe('reject')
    // a DMARC pass for another From domain does not excuse a forged envelope sender
    expect(act({mailFrom: 'a@example.com', spf: {result: 'fail', domain: 'example.com'}, dmarc: {result: 'pass'}})).toBe('reject')
    expect(act({mailFrom: 'a@example.com', spf: {result: 'pass', domain: 'example.com'}})).toBe('accept')
    expect(act({headerFrom: ['a@example.com'], dkim: [{result: 'pass', domain: 'mail.example.com'}]})).toBe('accept')
    expect(act({headerFrom: ['a@example.com'], dkim: [{result: 'pass', domain: 'notexample.com'}]})).toBe('reject')
    expect(act({mailFrom: 'a@example.com', spf: {result: 'temperror', domain: 'example.com'}})).toBe('defer')
    // even when temperrors are otherwise accepted: a forged local sender must not slip through
    expect(act({mailFrom: 'a@example.com', spf: {result: 'temperror', domain: 'example.com'}}, {mode: 'enforce', onTempError: 'accept'})).toBe('defer')
  })

  it('DNS failures defer, or accept when configured; a DMARC pass needs no more lookups', () => {
    expect(act({spf: {result: 'temperror', domain: 'remote.test'}})).toBe('defer')
    expect(act({dkim: [{result: 'temperror', domain: 'remote.test'}]})).toBe('defer')
    expect(act({dmarc: {result: 'temperror'}})).toBe('defer')
    expect(act({dmarc: {result: 'temperror'}}, {mode: 'enforce', onTempError: 'accept'})).toBe('accept')
    expect(act({spf: {result: 'temperror', domain: 'remote.test'}, dmarc: {result: 'pass'}})).toBe('accept')
  })

  it('DMARC pct: a failing message in the sample gets the policy, one outside it the next less strict (RFC 7489 §6.6.4)', () => {
    const fail = (policy: string, pct?: number) => ({dmarc: {result: 'fail', policy, ...(pct === undefined ? {} : {pct})}})
    const sampled = (inSample: boolean, seen: number[] = []) => (pct: number) => (seen.push(pct), inSample)
    const seen: number[] = []
    expect(decide({...base, ...fail('reject', 30)}, local, enforce, sampled(true, seen)).action).toBe('reject')
    expect(decide({...base, ...fail('reject', 30)}, local, enforce, sampled(false, seen)).action).toBe('junk')
    expect(decide({...base, ...fail('quarantine', 30)}, local, enforce, sampled(false, seen)).action).toBe('accept')
    expect(seen).toEqual([30, 30, 30])
    // pct absent or 100: no sampling at all; none has nothing less strict
    for (const pct of [undefined, 100]) expect(decide({...base, ...fail('reject', pct)}, local, enforce, sampled(false)).action).toBe('reject')
    expect(decide({...base, ...fail('none', 0)}, local, enforce, sampled(false)).action).toBe('accept')
    // the real sampler: pct=0 never selects, pct=100 always
    for (let i = 0; i < 50; i++) expect(act(fail('reject', 0))).toBe('junk')
    expect(decide({...base, ...fail('quarantine', 0)}, local, enforce).reason).toMatch(/pct=0: not sampled, so none instead of quarantine/)
  })

  it('more than one From address is refused: DMARC could not be applied', () => {
    expect(act({headerFrom: ['ceo@bank.test', 'x@remote.test'], dmarc: {result: 'none'}})).toBe('reject')
    expect(act({headerFrom: []})).toBe('accept')
  })

  it('DMARC fail follows the policy; monitor mode only records', () => {
    expect(act({dmarc: {result: 'fail', policy: 'reject'}})).toBe('reject')
    expect(act({dmarc: {result: 'fail', policy: 'quarantine'}})).toBe('junk')
    expect(act({dmarc: {result: 'fail', policy: 'none'}})).toBe('accept')
    const monitored = decide({...base, dmarc: {result: 'fail', policy: 'reject'}}, local, {mode: 'monitor', onTempError: 'defer'})
    expect(monitored).toEqual({action: 'accept', reason: 'monitor only: would reject (DMARC policy of the From domain is reject)'})
  })

  it("a DMARC fail is accepted only when a passing ARC chain's newest sealer is trusted and recorded dmarc=pass for this From domain", () => {
    const trusting = {...enforce, arcTrustedSealers: ['lists.example.net']}
    const failing: Partial<PolicyInput> = {headerFrom: ['a@author.test'], dmarc: {result: 'fail', domain: 'author.test', policy: 'reject'}}
    const vouched = {result: 'pass', sealer: 'lists.example.net', dmarc: {result: 'pass', from: 'author.test'}}
    expect(decide({...base, ...failing, arc: vouched}, local, trusting)).toEqual({
      action: 'accept',
      reason: 'dmarc fail overridden: the ARC chain passes and lists.example.net, a trusted sealer, recorded dmarc=pass',
    })
    // nobody is trusted by default
    expect(decide({...base, ...failing, arc: vouched}, local, enforce).action).toBe('reject')
    // a chain that does not pass, another sealer, no dmarc=pass recorded, or a pass for another author domain
    for (const arc of [
      {...vouched, result: 'fail'},
      {...vouched, sealer: 'evil.test'},
      {...vouched, dmarc: {result: 'fail', from: 'author.test'}},
      {result: 'pass', sealer: 'lists.example.net'},
      {...vouched, dmarc: {result: 'pass', from: 'other.test'}},
    ]) {
      expect(decide({...base, ...failing, arc}, local, trusting).action).toBe('reject')
    }
    // a forged local sender is refused whatever a sealer says
    expect(decide({...base, ...failing, headerFrom: ['a@example.com'], arc: {...vouched, dmarc: {result: 'pass', from: 'example.com'}}}, local, trusting).action).toBe('reject')
  })
})
