/**
 * `npm run bench -- cluster`: the store on PostgreSQL against the LMDB store, and three nodes on
 * one database against one (issue #16 "Speed"). All on this machine, in the same run, on a private
 * PostgreSQL server (test/helpers/postgres.ts: initdb in a temp dir, loopback, fsync and
 * synchronous_commit on, shared_buffers 16 MB).
 *
 * 1. Durable SMTP ingest with bench/smtp.ts's load generator (smtp-source when installed, else its
 *    Node client; BENCH_SIZE-byte messages, one per connection) into: one LMDB node; one PostgreSQL
 *    node; three PostgreSQL nodes on 127.0.0.2, .3 and .4 sharing one database, messages and
 *    sessions split across them, all to one user (the goal's setup); the same three nodes
 *    delivering to a user each (one folder's row lock out of the way: see docs/store-interface.md
 *    "Several nodes: capacity model"). Each node is warmed up first. Two rounds, the second in
 *    reverse order, and the mean of each (a shared machine's load drifts). The INBOXes' message
 *    counts are checked in the store afterwards; on PostgreSQL the WAL bytes, WAL flushes and
 *    transactions per message are read from the server's statistics around the timed part.
 * 2. IMAP on a BENCH_CLUSTER_FOLDER-message INBOX, filled straight into an LMDB store (as bench/imap.ts
 *    does) and moved to PostgreSQL by `mailbox store copy`: bench/imap.ts's big-folder workload
 *    (first SELECT, which loads the view; medians of 5 of SELECT again, UID FETCH / FETCH 1:*
 *    (UID FLAGS), SEARCH UNSEEN) on each.
 *
 * Sizes: BENCH_CLUSTER_MESSAGES (2000 per ingest run), BENCH_CLUSTER_SESSIONS (10, split across
 * the nodes), BENCH_CLUSTER_FOLDER (100,000); BENCH_CLUSTER_ONLY=ingest or imap runs one part.
 * With the defaults the whole bench took 5–8 minutes on this loaded 2-core machine (ingest 3–5, IMAP 2–3).
 */
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import pg from 'pg'
import {addDomain} from '../src/directory/domains.js'
import {addUser} from '../src/directory/users.js'
import {openStoreBackend} from '../src/store/open.js'
import {openStore} from '../src/store/store.js'
import {startPostgres, type PrivatePostgres} from '../test/helpers/postgres.js'
import {bigFolder, type BigFolderFigures, DOMAIN, fillStore, PW, serveImap, smallMessage, type Target} from './imap.js'
import {cli, freePort, startServe, type Served} from './serve.js'
import {loadGenerator} from './smtp.js'
import {type FigureValue, higher, lower, report, tempDir, timed} from './util.js'

const MESSAGES = Number(process.env.BENCH_CLUSTER_MESSAGES ?? 2000)
const SESSIONS = Number(process.env.BENCH_CLUSTER_SESSIONS ?? 10)
const FOLDER = Number(process.env.BENCH_CLUSTER_FOLDER ?? 100_000)
const ONLY = process.env.BENCH_CLUSTER_ONLY
const WARM_UP = Math.min(500, MESSAGES)
/** the cluster's node addresses (the three nodes) */
const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4']
const USER = `alice@${DOMAIN}`

export async function benchCluster(): Promise<void> {
  const {dir, cleanup} = tempDir('mbx-bench-cluster-')
  const server = await startPostgres()
  try {
    if (ONLY !== 'imap') await benchIngest(dir, server)
    if (ONLY !== 'ingest') await benchImapFolder(dir, server)
  } finally {
    await server.stop()
    cleanup()
  }
}

// ---------------------------------------------------------------------------------------------
// 1. ingest

interface Setup {
  name: string
  /** each node's address; all share `store` (absent: one LMDB node) */
  hosts: string[]
  store?: string
  /** each node's load to a user of its own (default: all to one user's INBOX) */
  userPerNode?: boolean
}

/** what one ingest run cost the database, per message */
interface DbCost {
  walBytes: number
  /** WAL flushes (fsyncs): the durable commits, fewer when commits are flushed together */
  flushes: number
  /** transactions, the read-only ones (every standalone query) included */
  transactions: number
}

type DbCounters = Omit<DbCost, 'walBytes'> & {walBytes: bigint}

/** the server's WAL counters and the database's transactions (statistics flushed first: PostgreSQL 15 flushes them lazily) */
async function dbCounters(url: string): Promise<DbCounters> {
  const client = new pg.Client({connectionString: url})
  await client.connect()
  try {
    await sleep(1100) // other backends flush their statistics at most once a second
    const {rows} = await client.query(
      `SELECT w.wal_bytes::text AS wal_bytes, w.wal_sync::bigint AS flushes, d.xact_commit::bigint AS transactions FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()`,
    )
    return {walBytes: BigInt(rows[0].wal_bytes), flushes: Number(rows[0].flushes), transactions: Number(rows[0].transactions)}
  } finally {
    await client.end()
  }
}

async function dbCost(url: string, before: DbCounters, messages: number): Promise<DbCost> {
  const after = await dbCounters(url)
  return {walBytes: Number(after.walBytes - before.walBytes) / messages, flushes: (after.flushes - before.flushes) / messages, transactions: (after.transactions - before.transactions) / messages}
}

/** `total` split into `parts` whole shares (the first ones one larger) */
const split = (total: number, parts: number) => Array.from({length: parts}, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0))

/** msgs/s of MESSAGES into `setup`'s nodes (fresh data dirs under `dir`), the counts checked in the store; on PostgreSQL also its cost there */
async function ingest(dir: string, setup: Setup, load: ReturnType<typeof loadGenerator>['load']): Promise<{rate: number; cost?: DbCost}> {
  const nodes: {served: Served; port: number; host: string; user: string}[] = []
  const dataDirs = setup.hosts.map((_, i) => join(dir, `${setup.name}-${i}`))
  const userOf = (i: number) => (setup.userPerNode ? `node${i}@${DOMAIN}` : USER)
  const users = [...new Set(setup.hosts.map((_, i) => userOf(i)))]
  try {
    for (const [i, host] of setup.hosts.entries()) {
      const port = await freePort()
      const first = i === 0
      const served = await startServe(dataDirs[i]!, port, {...(first ? {domain: DOMAIN} : {}), users: first ? users : [], host, ...(setup.store ? {store: setup.store} : {})})
      nodes.push({served, port, host, user: userOf(i)})
    }
    const counts = (count: number) => split(count, setup.hosts.length)
    const run = (count: number) => {
      const sessions = split(SESSIONS, nodes.length)
      return Promise.all(nodes.map((n, i) => (counts(count)[i] ? load(n.port, counts(count)[i]!, n.user, {host: n.host, sessions: Math.max(1, sessions[i]!)}) : undefined)))
    }
    await run(WARM_UP * nodes.length) // each node's code optimized, its pool connected
    const before = setup.store ? await dbCounters(setup.store) : undefined
    const {ms} = await timed(() => run(MESSAGES))
    const cost = setup.store && before ? await dbCost(setup.store, before, MESSAGES) : undefined
    for (const n of nodes.splice(0)) await n.served.stop()
    const store = await openStoreBackend({dataDir: dataDirs[0]!, store: setup.store, readOnly: true})
    try {
      for (const user of users) {
        const inbox = await store.mail.folder(user, 'INBOX')
        const shares = setup.hosts.map((_, i) => i).filter((i) => userOf(i) === user)
        const expected = shares.reduce((sum, i) => sum + counts(MESSAGES)[i]! + counts(WARM_UP * setup.hosts.length)[i]!, 0)
        if (inbox?.messages !== expected) throw new Error(`${setup.name}: ${user}'s INBOX holds ${inbox?.messages} messages, expected ${expected}`)
      }
    } finally {
      await store.close()
    }
    return {rate: MESSAGES / (ms / 1000), ...(cost ? {cost} : {})}
  } finally {
    for (const n of nodes) await n.served.stop()
  }
}

async function benchIngest(dir: string, server: PrivatePostgres): Promise<void> {
  const {generator, load} = loadGenerator()
  const kinds = ['lmdb', 'pg1', 'pg3', 'pg3users'] as const
  const rounds = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<(typeof kinds)[number], number[]>
  const costs: Partial<Record<(typeof kinds)[number], DbCost>> = {}
  for (const round of [1, 2]) {
    const order: [(typeof kinds)[number], Setup][] = [
      ['lmdb', {name: `lmdb-${round}`, hosts: ['127.0.0.1']}],
      ['pg1', {name: `pg1-${round}`, hosts: ['127.0.0.1'], store: await server.createDatabase()}],
      ['pg3', {name: `pg3-${round}`, hosts: HOSTS, store: await server.createDatabase()}],
      ['pg3users', {name: `pg3users-${round}`, hosts: HOSTS, store: await server.createDatabase(), userPerNode: true}],
    ]
    for (const [key, setup] of round === 1 ? order : order.reverse()) {
      const {rate, cost} = await ingest(dir, setup, load)
      rounds[key].push(rate)
      if (cost) costs[key] = cost
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  const [lmdb, pg1, pg3] = [mean(rounds.lmdb), mean(rounds.pg1), mean(rounds.pg3)]
  const each = (key: (typeof kinds)[number]) => {
    const cost = costs[key]
    const db = cost ? `; per message ${(cost.walBytes / 1024).toFixed(1)} KiB WAL, ${cost.flushes.toFixed(2)} WAL flushes, ${cost.transactions.toFixed(1)} transactions` : ''
    return `${mean(rounds[key]).toFixed(0)} msgs/s  (rounds: ${rounds[key].map((x) => x.toFixed(0)).join(', ')}${db})`
  }
  report('ingest', `durable SMTP ingest, ${MESSAGES} messages of ${process.env.BENCH_SIZE ?? 10240} B, ${SESSIONS} sessions in all, one message per connection`, {
    'load generator': generator,
    workload: `per setup: ${WARM_UP} per node to warm up, then ${MESSAGES} timed (split across the nodes); 2 rounds, the second in reverse order; counts checked in the store`,
    'one LMDB node, one user': each('lmdb'),
    'one PostgreSQL node, one user': each('pg1'),
    '3 PG nodes, one database, one user': `${each('pg3')}  (${HOSTS.join(', ')})`,
    '3 PG nodes, one database, a user each': each('pg3users'),
    'ratio PG / LMDB node': higher(pg1 / lmdb, {goal: 0.5}),
    'ratio 3 PG nodes / 1': higher(pg3 / pg1, {goal: 1}),
    'ratio 3 nodes, a user each / 1': higher(mean(rounds.pg3users) / pg1),
  })
}

// ---------------------------------------------------------------------------------------------
// 2. IMAP on a big folder

async function benchImapFolder(dir: string, server: PrivatePostgres): Promise<void> {
  const lmdbDir = join(dir, 'imap-lmdb')
  const fill = await timed(async () => {
    const store = openStore(lmdbDir)
    try {
      await addDomain(store, DOMAIN)
      await addUser(store, {address: USER, password: PW})
      fillStore(store, USER, FOLDER, smallMessage)
    } finally {
      await store.close()
    }
  })
  const url = await server.createDatabase()
  const copy = await timed(() => cli(['store', 'copy', '--from', lmdbDir, '--to', url]))
  const figures: Record<string, BigFolderFigures> = {}
  for (const [name, dataDir, store] of [
    ['LMDB', lmdbDir, undefined],
    ['PostgreSQL', join(dir, 'imap-pg'), url],
  ] as const) {
    const served = await serveImap(dataDir, [], store)
    try {
      const target: Target = {name, port: served.port, pid: served.pid, password: PW, users: {big: USER, bodies: USER, headers: USER, cycles: USER, idle: []}}
      figures[name] = await bigFolder(target, FOLDER)
    } finally {
      await served.stop()
    }
  }
  const lmdb = figures.LMDB!
  const pgf = figures.PostgreSQL!
  const row = (label: string, key: keyof BigFolderFigures, goal?: number): [string, FigureValue][] => [
    [`${label}: LMDB / PG`, `${lmdb[key].toFixed(1)} ms / ${pgf[key].toFixed(1)} ms`],
    [`${label}: ratio PG / LMDB`, lower(pgf[key] / lmdb[key], {goal})],
  ]
  report('imap', `IMAP, a ${FOLDER.toLocaleString('en')}-message INBOX (~${smallMessage(FOLDER >> 1).length} B each), one client, one node; medians of 5 except the first SELECT and the STORE`, {
    fill: `LMDB straight into the store ${(fill.ms / 1000).toFixed(1)} s; \`mailbox store copy\` to PostgreSQL ${(copy.ms / 1000).toFixed(1)} s`,
    workload: 'bench/imap.ts big folder: LOGIN, SELECT (first: loads the view), 5x SELECT, STORE 10% \\Seen, 5x UID FETCH 1:* (UID FLAGS), 5x FETCH 1:* (UID FLAGS), 5x SEARCH UNSEEN',
    ...Object.fromEntries([
      ...row('first SELECT (loads the view)', 'firstSelect'),
      ...row('SELECT again', 'reselect'),
      ...row('STORE 10% \\Seen', 'store'),
      ...row('UID FETCH 1:* (UID FLAGS)', 'uidFetch'),
      ...row('FETCH 1:* (UID FLAGS)', 'fetch', 2),
      ...row('SEARCH UNSEEN', 'search'),
    ]),
  })
}
