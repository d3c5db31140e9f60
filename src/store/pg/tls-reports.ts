/**
 * `store.tlsReports` (../backend.ts) on PostgreSQL: `tls_report_days`, one row per (day, policy
 * domain) with its state, a sender's lease (the database's clock: several nodes' clocks are never
 * compared) and the record's counts as jsonb, merged by ../tls-report-rules.ts.
 *
 * An add is one transaction for the whole batch, rows locked in key order (two nodes flushing
 * the same days at once take turns, never deadlock), committed with `synchronous_commit = off`:
 * the counts are statistics, and a crash of the database may lose its last moments of them
 * rather than every node waiting for a flush of the WAL each few seconds. Claims and settles
 * commit durably: they decide whether a report goes out again.
 */
import type pg from 'pg'
import type {TlsReportStore} from '../backend.js'
import {addTlsCounts, type TlsReportDay} from '../tls-report-rules.js'
import {transaction} from './connect.js'

type Stored = Omit<TlsReportDay, 'day' | 'policyDomain' | 'state' | 'leaseUntil'>

interface DayRow {
  day: string
  policy_domain: string
  state: 'open' | 'done'
  data: Stored
  lease_ms: string | null
}

const recordOf = (row: DayRow): TlsReportDay => ({
  day: row.day,
  policyDomain: row.policy_domain,
  state: row.state,
  ...row.data,
  ...(row.lease_ms !== null ? {leaseUntil: Number(row.lease_ms)} : {}),
})

const dataOf = ({policies, droppedDetails, sentTo, attempts}: TlsReportDay): Stored => ({policies, droppedDetails, sentTo, attempts})

const BLANK: Stored = {policies: [], droppedDetails: 0, sentTo: [], attempts: 0}

const COLUMNS = "day, policy_domain, state, data, (extract(epoch FROM lease_until) * 1000)::bigint AS lease_ms"
const KEY = 'day = $1 AND policy_domain = $2'
const DUE = "state = 'open' AND (lease_until IS NULL OR lease_until <= now())"

export function pgTlsReports(pool: pg.Pool): TlsReportStore {
  return {
    async add(counts, bounds) {
      if (!counts.length) return
      const sorted = [...counts].sort((a, b) => (a.day + '\0' + a.policyDomain < b.day + '\0' + b.policyDomain ? -1 : 1))
      await transaction(pool, async (client) => {
        await client.query('SET LOCAL synchronous_commit = off')
        for (const c of sorted) {
          // a blank row first, so the row is there to lock whether this node or another makes it
          await client.query(`INSERT INTO tls_report_days (day, policy_domain, state, data) VALUES ($1, $2, 'open', $3) ON CONFLICT (day, policy_domain) DO NOTHING`, [
            c.day,
            c.policyDomain,
            JSON.stringify(BLANK),
          ])
          const {rows} = await client.query<DayRow>(`SELECT ${COLUMNS} FROM tls_report_days WHERE ${KEY} FOR UPDATE`, [c.day, c.policyDomain])
          const next = rows[0] && addTlsCounts(recordOf(rows[0]), c, bounds)
          if (next) await client.query(`UPDATE tls_report_days SET data = $3 WHERE ${KEY}`, [c.day, c.policyDomain, JSON.stringify(dataOf(next))])
        }
      })
    },

    async due(beforeDay, _now, limit) {
      const {rows} = await pool.query<{day: string; policy_domain: string}>(
        `SELECT day, policy_domain FROM tls_report_days WHERE day < $1 AND ${DUE} ORDER BY day, policy_domain LIMIT $2`,
        [beforeDay, limit],
      )
      return rows.map((r) => ({day: r.day, policyDomain: r.policy_domain}))
    },

    async claim(day, policyDomain, _now, leaseMs) {
      const {rows} = await pool.query<DayRow>(
        `UPDATE tls_report_days SET lease_until = now() + $3 * interval '1 millisecond',
           data = jsonb_set(data, '{attempts}', to_jsonb((data->>'attempts')::int + 1))
         WHERE ${KEY} AND ${DUE} RETURNING ${COLUMNS}`,
        [day, policyDomain, leaseMs],
      )
      return rows[0] && recordOf(rows[0])
    },

    async settle(day, policyDomain, {sentTo, done}) {
      const sent = JSON.stringify(sentTo)
      await pool.query(
        done
          ? `UPDATE tls_report_days SET state = 'done', lease_until = NULL, data = jsonb_set(jsonb_set(data, '{sentTo}', $3::jsonb), '{policies}', '[]'::jsonb) WHERE ${KEY}`
          : `UPDATE tls_report_days SET lease_until = NULL, data = jsonb_set(data, '{sentTo}', $3::jsonb) WHERE ${KEY}`,
        [day, policyDomain, sent],
      )
    },

    async get(day, policyDomain) {
      const {rows} = await pool.query<DayRow>(`SELECT ${COLUMNS} FROM tls_report_days WHERE ${KEY}`, [day, policyDomain])
      return rows[0] && recordOf(rows[0])
    },

    async purge(beforeDay, limit = 1000) {
      let removed = 0
      for (;;) {
        const n =
          (
            await pool.query('DELETE FROM tls_report_days WHERE (day, policy_domain) IN (SELECT day, policy_domain FROM tls_report_days WHERE day < $1 LIMIT $2)', [
              beforeDay,
              limit,
            ])
          ).rowCount ?? 0
        removed += n
        if (n < limit) return removed
      }
    },
  }
}
