/**
 * Capture rules on LMDB: the `CaptureStore` of ./backend.ts over the `captureRules` database
 * (keyed by id, which is time-ordered: key order is age order).
 *
 * `takeFault` runs on every RCPT and DATA in capture mode, so it reads synchronously and returns
 * a resolved promise; with no rules (the common case) it is one count. Only a counted rule writes:
 * in an async commit (shared with the other writes of the turn, its fsync off the event loop)
 * that matches again inside the write transaction, so two concurrent messages cannot both take
 * the last firing. The CLI's writes are synchronous commits (rare, not on a server's hot path).
 */
import {MailboxError} from '../errors.js'
import type {CaptureStore} from './backend.js'
import type {CaptureRuleRecord} from './records.js'
import type {Store} from './store.js'

/**
 * ../capture/rules.ts (RE2 patterns, ids and so node:crypto) is loaded at the first capture
 * operation, not with the store: every command opens the store, few touch capture rules, and
 * start-up of `user list` counts (test/e2e/cli-startup.test.ts).
 */
let rulesModule: Promise<typeof import('../capture/rules.js')> | undefined
const captureRules = () => (rulesModule ??= import('../capture/rules.js'))

export function lmdbCapture(store: Store): CaptureStore {
  /** the rules in key (age) order, read lazily: a match stops reading (a generator: cheaper than RangeIterable's map) */
  function* stored(): Iterable<CaptureRuleRecord> {
    for (const {value} of store.captureRules.getRange()) yield value
  }
  const inTxn = async <T>(fn: () => T): Promise<T> => {
    const result = store.transact(fn)
    store.changeEmitter.emit({kind: 'capture'})
    return result
  }

  return {
    rules: async () => [...stored()],
    addRule: async (input) => {
      const {captureRuleRecord} = await captureRules()
      return inTxn(() => {
        const rule = captureRuleRecord(input)
        store.captureRules.putSync(rule.id, rule)
        return rule
      })
    },
    removeRule: (id) =>
      inTxn(() => {
        const rule = store.captureRules.get(id)
        if (!rule) throw new MailboxError('not-found', `no capture rule ${id}`)
        store.captureRules.removeSync(id)
        return rule
      }),
    clearRules: () =>
      inTxn(() => {
        const ids = [...store.captureRules.getKeys()]
        for (const id of ids) store.captureRules.removeSync(id)
        return ids.length
      }),
    async takeFault(stage, recipients) {
      if (store.captureRules.getKeysCount() === 0) return undefined // the common case: no rules, no write
      const {firstMatch} = await captureRules()
      const seen = firstMatch(stored(), stage, recipients)
      if (seen?.remaining === undefined) return seen
      const taken = await store.transactAsync(() => {
        const rule = firstMatch(stored(), stage, recipients)
        if (rule?.remaining !== undefined) {
          if (rule.remaining <= 1) store.captureRules.removeSync(rule.id)
          else store.captureRules.putSync(rule.id, {...rule, remaining: rule.remaining - 1})
        }
        return rule
      })
      if (taken?.remaining !== undefined) store.changeEmitter.emit({kind: 'capture'})
      return taken
    },
  }
}
