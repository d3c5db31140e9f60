/**
 * The PostgreSQL mail store's costs (src/store/pg/mail.ts), on a private server started for the
 * run (test/helpers/postgres.ts: initdb in a temp dir, loopback, fsync on): `node --expose-gc
 * --import tsx bench/pg-mail.ts`. Not part of `npm run bench` (it needs PostgreSQL's programs).
 *
 * 1. deliver of a 4 KB message to one user, one after another and 8 at a time;
 * 2. APPEND of the same, one after another;
 * 3. `messages(folderId)` of a 100,000-message folder: time and heap;
 * and, to say where the time goes, a bare round trip (`SELECT 1`) and a bare durable commit
 * (one tiny INSERT in BEGIN … COMMIT, the WAL flush).
 */
import pg from 'pg'
import {analyzeMessage} from '../src/mailstore/analyze.js'
import {transaction} from '../src/store/pg/connect.js'
import {pgDirectory} from '../src/store/pg/directory.js'
import {pgMail} from '../src/store/pg/mail.js'
import {openPgDatabase} from '../src/store/pg/open.js'
import {startPostgres} from '../test/helpers/postgres.js'
import {rate, report, timed} from './util.js'

const N = Number(process.env.BENCH_MESSAGES ?? 1000)
const BIG = Number(process.env.BENCH_FOLDER ?? 100_000)
const raw = Buffer.from(`From: a@example.net\r\nTo: u@bench.test\r\nSubject: bench\r\n\r\n${'x'.repeat(4000)}\r\n`)
const analysis = analyzeMessage(raw)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fixed = (ms: number) => ms.toFixed(2)

const server = await startPostgres()
try {
  const store = await openPgDatabase(await server.createSchema(), {poolSize: 10})
  const {pool} = store
  const directory = pgDirectory(pool)
  const mail = pgMail(pool, directory)
  await directory.directory.addDomain({record: {name: 'bench.test', createdAt: Date.now()}, keys: []})
  const parallelUsers = Array.from({length: 8}, (_, i) => `p${i}@bench.test`)
  for (const u of ['u@bench.test', 'w@bench.test', ...parallelUsers]) await directory.directory.addUser({address: u, passwordHash: ''})

  const each = async (fn: () => Promise<unknown>) => {
    const times: number[] = []
    for (let i = 0; i < N; i++) times.push((await timed(fn)).ms)
    return times
  }
  const roundTrips = await each(() => pool.query('SELECT 1'))
  await pool.query('CREATE TABLE bench_commit (n integer)')
  const commits = await each(() => transaction(pool, (c) => c.query('INSERT INTO bench_commit VALUES (1)')))
  const input = {localRaw: raw, analysis, mailFrom: 's@example.net', rcptTo: ['u@bench.test'], local: ['u@bench.test'], remote: []}
  const delivers = await each(() => mail.deliver(input))
  const appends = await each(() => mail.append({user: 'u@bench.test', folder: 'Archive', messages: [{raw, flags: [], analysis}]}))
  // 8 at a time, each to a user of its own (to one user they would queue on its INBOX row's lock)
  const parallel = await timed(async () => {
    let next = 0
    await Promise.all(parallelUsers.map(async (user) => {
      while (next++ < N) await mail.deliver({...input, local: [user]})
    }))
  })
  // where a delivery's time goes: each statement's time, summed by its first words (the client's view, round trip included)
  const spent = new Map<string, number>()
  const query = pg.Client.prototype.query as (...args: unknown[]) => Promise<unknown>
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : ((args[0] as {text?: string}).text ?? '')
    const key = text.trim().split(/\s+/).slice(0, 3).join(' ').slice(0, 40)
    const start = performance.now()
    const done = () => spent.set(key, (spent.get(key) ?? 0) + performance.now() - start)
    const result = query.apply(this, args)
    if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(done, done)
    return result
  } as typeof pg.Client.prototype.query
  const profiled = (await timed(async () => {
    for (let i = 0; i < 200; i++) await mail.deliver(input)
  })).ms
  pg.Client.prototype.query = query as typeof pg.Client.prototype.query
  const profile = Object.fromEntries([...spent].sort((a, b) => b[1] - a[1]).map(([k, ms]) => [k, `${(ms / 200).toFixed(2)} ms`]))

  report('calls', `one 4 KB message, ${N} times, pool of 10 (median ms per call)`, {
    'SELECT 1 (a round trip)': fixed(median(roundTrips)),
    'BEGIN; INSERT; COMMIT (a durable commit)': fixed(median(commits)),
    'deliver to one user': fixed(median(delivers)),
    'append': fixed(median(appends)),
    'deliver, 8 at a time (msgs/s)': rate(N, parallel.ms),
  })
  report('deliver-profile', `where a deliver's ${(profiled / 200).toFixed(2)} ms go (per message, 200 delivers)`, profile)

  // a 100,000-message folder, filled in SQL (one blob shared by all: the read does not touch blobs)
  const w = (await mail.folder('w@bench.test', 'INBOX'))!
  const blobId = (await mail.deliver({...input, local: ['w@bench.test']})).id
  await pool.query(
    `WITH f AS (UPDATE folders SET uid_next = uid_next + $2, highest_modseq = highest_modseq + $2, messages = messages + $2 WHERE id = $1 RETURNING uid_next - $2 AS first)
     INSERT INTO messages (folder_id, uid, blob_id, flags, internal_date, size, modseq)
     SELECT $1, f.first + i, $3, CASE WHEN i % 2 = 0 THEN ARRAY['\\Seen'] ELSE '{}'::text[] END, $4, $5, 2 + i FROM f, generate_series(0, $2 - 1) AS i`,
    [w.id, BIG, blobId, Date.now(), raw.length],
  )
  await pool.query('UPDATE blob_info SET refs = refs + $2 WHERE blob_id = $1', [blobId, BIG])
  await pool.query('VACUUM ANALYZE messages')
  const gc = (globalThis as {gc?: () => void}).gc
  const reads: number[] = []
  const heaps: number[] = []
  let rows = 0
  for (let i = 0; i < 5; i++) {
    gc?.()
    const before = process.memoryUsage().heapUsed
    const {ms, result} = await timed(() => mail.messages(w.id))
    heaps.push(process.memoryUsage().heapUsed - before)
    reads.push(ms)
    rows = result.length
  }
  const rawRead = await timed(() => pool.query('SELECT uid, blob_id, flags, internal_date, size, modseq FROM messages WHERE folder_id = $1 ORDER BY uid', [w.id]))
  const server_ = await pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) SELECT uid, blob_id, flags, internal_date, size, modseq FROM messages WHERE folder_id = $1 ORDER BY uid`, [w.id])
  report('folder-read', `messages(folderId) of a ${rows}-message folder (5 reads)`, {
    'median ms': fixed(median(reads)),
    'of which the server executes (ms)': fixed(server_.rows[0]['QUERY PLAN'][0]['Execution Time']),
    'pg query with its own row parsing (ms)': fixed(rawRead.ms),
    'heap held by the result (MB, median)': gc ? (median(heaps) / 1e6).toFixed(1) : 'run with --expose-gc',
  })
  await store.close()
} finally {
  await server.stop()
}
