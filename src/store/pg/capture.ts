/**
 * Capture rules on PostgreSQL: the `CaptureStore` of ../backend.ts over `capture_rules`, behaving
 * as the LMDB one (../lmdb-capture.ts) does. Ids are time-ordered and the column is "C"-collated,
 * so `ORDER BY id` is age order, as LMDB's key order is.
 *
 * Reads are one query each, not cached: a rule added or consumed on one node must apply to the
 * very next RCPT on every other (a NOTIFY arrives some time after the writer's COMMIT), and one
 * query is what a version check would cost anyway.
 *
 * `takeFault` reads without a lock first: with no matching rule, or one that fires always (the
 * common cases), that is all. A counted rule is consumed in a transaction that locks the stage's
 * rules (`FOR UPDATE`, in id order, so two takers never deadlock; a deadlock with `clearRules` is
 * retried by `transaction()`) and matches again under the lock, as LMDB matches again inside its
 * write: a taker that waited sees the row as the one before it left it (decremented, or deleted
 * and skipped), so a rule with remaining N fires exactly N times across all nodes. Every write
 * signals `capture` to the other nodes.
 */
import type pg from 'pg'
import {captureRuleRecord, firstMatch} from '../../capture/rules.js'
import {MailboxError} from '../../errors.js'
import type {CaptureStore} from '../backend.js'
import type {CaptureRuleRecord} from '../records.js'
import {signalledTransaction} from './changes.js'

interface CaptureRuleRow {
  id: string
  to_pattern: string
  reply: string
  stage: 'rcpt' | 'data'
  remaining: number | null
  created_at: number
}

export const ruleFromRow = (row: CaptureRuleRow): CaptureRuleRecord => ({
  id: row.id,
  to: row.to_pattern,
  reply: row.reply,
  stage: row.stage,
  ...(row.remaining !== null ? {remaining: row.remaining} : {}),
  createdAt: row.created_at,
})

export function pgCapture(pool: pg.Pool): CaptureStore {
  /** every rule, or those of one stage (locked, when `forUpdate`), oldest first */
  const rulesOf = async (query: pg.Pool | pg.ClientBase, stage?: 'rcpt' | 'data', forUpdate = false): Promise<CaptureRuleRecord[]> => {
    const where = stage ? 'WHERE stage = $1' : ''
    const {rows} = await query.query<CaptureRuleRow>(`SELECT * FROM capture_rules ${where} ORDER BY id${forUpdate ? ' FOR UPDATE' : ''}`, stage ? [stage] : [])
    return rows.map(ruleFromRow)
  }

  return {
    rules: () => rulesOf(pool),
    addRule: async (input) => {
      const rule = captureRuleRecord(input)
      return signalledTransaction(pool, async (client, signals) => {
        await client.query('INSERT INTO capture_rules (id, to_pattern, reply, stage, remaining, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
          rule.id,
          rule.to,
          rule.reply,
          rule.stage,
          rule.remaining ?? null,
          rule.createdAt,
        ])
        signals.capture()
        return rule
      })
    },
    removeRule: (id) =>
      signalledTransaction(pool, async (client, signals) => {
        const {rows} = await client.query<CaptureRuleRow>('DELETE FROM capture_rules WHERE id = $1 RETURNING *', [id])
        if (!rows[0]) throw new MailboxError('not-found', `no capture rule ${id}`)
        signals.capture()
        return ruleFromRow(rows[0])
      }),
    clearRules: () =>
      signalledTransaction(pool, async (client, signals) => {
        const {rowCount} = await client.query('DELETE FROM capture_rules')
        if (rowCount) signals.capture()
        return rowCount ?? 0
      }),
    async takeFault(stage, recipients) {
      const seen = firstMatch(await rulesOf(pool, stage), stage, recipients)
      if (seen?.remaining === undefined) return seen
      return signalledTransaction(pool, async (client, signals) => {
        const rule = firstMatch(await rulesOf(client, stage, true), stage, recipients)
        if (rule?.remaining !== undefined) {
          if (rule.remaining <= 1) await client.query('DELETE FROM capture_rules WHERE id = $1', [rule.id])
          else await client.query('UPDATE capture_rules SET remaining = remaining - 1 WHERE id = $1', [rule.id])
          signals.capture()
        }
        return rule
      })
    },
  }
}
