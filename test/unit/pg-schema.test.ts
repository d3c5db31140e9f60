/**
 * The PostgreSQL store's schema and migrations (src/store/pg/schema.ts, migrations.ts) on a real
 * private server: an empty database gets every table; nodes starting together apply each step
 * once; a newer database is refused naming both versions; a failed step leaves the previous
 * version whole; the constraints hold the store's invariants.
 */
import {describe, expect, it} from 'vitest'
import {isMailboxError} from '../../src/errors.js'
import {openPool} from '../../src/store/pg/connect.js'
import {MIGRATIONS} from '../../src/store/pg/migrations.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {migrate, PG_SCHEMA_VERSION, schemaVersionOf} from '../../src/store/pg/schema.js'
import {freePort} from '../helpers/ports.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const TABLES = [
  'acme_accounts',
  'aliases',
  'auth_failures',
  'blob_info',
  'blob_text',
  'blobs',
  'capture_rules',
  'certificates',
  'delivery_log',
  'directory_deletions',
  'dkim_keys',
  'domains',
  'familiar_addresses',
  'folders',
  'greylist',
  'greylist_networks',
  'greylist_size',
  'learn_jobs',
  'mailbox_meta',
  'messages',
  'nodes',
  'queue',
  'settings',
  'sieve_scripts',
  'subscriptions',
  'users',
  'vacation_replies',
  'vanished',
]

describe.skipIf(skipWithoutPostgres)('PostgreSQL schema', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  it('an empty database gets every table at open; opening again changes nothing', async () => {
    const url = await server().createSchema()
    const {pool} = pools.open(url)
    expect(await migrate(pool, 'test')).toEqual({from: 0, to: PG_SCHEMA_VERSION})
    const {rows} = await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
    expect(rows.map((r) => r.tablename)).toEqual(TABLES)
    expect(await migrate(pool, 'test')).toEqual({from: PG_SCHEMA_VERSION, to: PG_SCHEMA_VERSION})
    const client = await pool.connect()
    try {
      expect(await schemaVersionOf(client)).toBe(PG_SCHEMA_VERSION)
    } finally {
      client.release()
    }
  })

  it('three nodes opening one empty database at once: each step is applied once, all open', async () => {
    const url = await server().createSchema()
    // without the advisory lock, two would run CREATE TABLE and one would fail "already exists"
    const opened = await Promise.all([1, 2, 3].map(() => pools.node(url, {poolSize: 2})))
    expect(opened).toHaveLength(3)
    const {rows} = await opened[0]!.pool.query('SELECT key, value FROM mailbox_meta ORDER BY key')
    expect(rows.map((r) => r.key)).toEqual(['createdAt', 'lastUidValidity', 'schemaVersion'])
    expect(rows.find((r) => r.key === 'schemaVersion').value).toBe(PG_SCHEMA_VERSION)
  })

  it('refuses a database newer than the code, naming both versions, and leaves no pool open', async () => {
    // a database of its own: the check below counts the connections to it
    const url = await server().createDatabase()
    const store = await pools.node(url)
    await store.pool.query("UPDATE mailbox_meta SET value = $1 WHERE key = 'schemaVersion'", [PG_SCHEMA_VERSION + 1])
    let thrown: unknown
    try {
      await openPgDatabase(url)
    } catch (err) {
      thrown = err
    }
    expect(isMailboxError(thrown, 'schema')).toBe(true)
    const message = (thrown as Error).message
    expect(message).toContain(`schema version ${PG_SCHEMA_VERSION + 1}, newer than this mailbox understands (${PG_SCHEMA_VERSION})`)
    expect(message).toContain(new URL(url).pathname) // which database
    // the refused open closed its connections: soon only the test's own pool is connected (a
    // backend leaves pg_stat_activity a moment after its client said goodbye)
    const connected = async () =>
      (await store.pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mailbox'")).rows[0].n
    for (let i = 0; i < 100 && (await connected()) > 1; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await connected()).toBe(1)
  })

  it('applies later steps to an older database in order; a failing step rolls back whole and keeps the version', async () => {
    const url = await server().createSchema()
    const {pool} = pools.open(url)
    const first = MIGRATIONS[0]!
    const second = 'CREATE TABLE step_two (id int); ALTER TABLE domains ADD COLUMN note text'
    expect(await migrate(pool, 'test', [first])).toEqual({from: 0, to: 1})
    const broken = 'CREATE TABLE step_broken (id int); SELECT 1 / 0'
    await expect(migrate(pool, 'test', [first, second, broken])).rejects.toMatchObject({code: '22012'}) // division_by_zero
    const tables = (await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'step_%' ORDER BY 1")).rows.map((r) => r.tablename)
    expect(tables).toEqual(['step_two'])
    expect((await pool.query("SELECT value FROM mailbox_meta WHERE key = 'schemaVersion'")).rows[0].value).toBe(2)
  })

  it("step 4 → 5 seeds the subscriptions from the folders' subscribed flags and drops MISSING_DOMAIN from stored envelopes", async () => {
    const url = await server().createSchema()
    const {pool} = pools.open(url)
    expect(await migrate(pool, 'test', MIGRATIONS.slice(0, 4))).toEqual({from: 0, to: 4})
    await pool.query(
      `INSERT INTO folders (user_address, name, uid_validity, subscribed, created_at) VALUES ('a@x.test', 'INBOX', 1, true, 0), ('a@x.test', 'Quiet', 2, false, 0)`,
    )
    await pool.query("INSERT INTO blobs (id, bytes) VALUES ('b1', 'x')")
    await pool.query(`INSERT INTO blob_info (blob_id, refs, size, created_at, envelope) VALUES ('b1', 1, 1, 0, '{"from":[{"mailbox":"root","host":"MISSING_DOMAIN"}]}')`)
    expect(await migrate(pool, 'test')).toEqual({from: 4, to: PG_SCHEMA_VERSION})
    expect((await pool.query('SELECT user_address, name FROM subscriptions')).rows).toEqual([{user_address: 'a@x.test', name: 'INBOX'}])
    // the stored envelope loses Dovecot's made-up host
    expect((await pool.query("SELECT envelope FROM blob_info WHERE blob_id = 'b1'")).rows[0].envelope).toEqual({from: [{mailbox: 'root', host: ''}]})
  })

  it('step 5 → 6 gives every user an unlimited message limit (0); a negative one is refused', async () => {
    const url = await server().createSchema()
    const {pool} = pools.open(url)
    expect(await migrate(pool, 'test', MIGRATIONS.slice(0, 5))).toEqual({from: 0, to: 5})
    await pool.query("INSERT INTO users (address, password_hash, quota, created_at, updated_at) VALUES ('a@x.test', '', 7, 0, 0)")
    expect(await migrate(pool, 'test')).toEqual({from: 5, to: PG_SCHEMA_VERSION})
    expect((await pool.query('SELECT quota::int AS quota, max_messages::int AS max_messages FROM users')).rows).toEqual([{quota: 7, max_messages: 0}])
    await expect(pool.query('UPDATE users SET max_messages = -1')).rejects.toThrow(/check constraint/)
  })

  it('an unreachable server is a clear "unavailable" error naming it (no password)', async () => {
    const port = await freePort() // nothing listens there
    const url = `postgres://mail:secret@127.0.0.1:${port}/mailbox`
    let thrown: unknown
    try {
      await openPgDatabase(url, {connectTimeoutMs: 5000})
    } catch (err) {
      thrown = err
    }
    expect(isMailboxError(thrown, 'unavailable')).toBe(true)
    expect((thrown as Error).message).toContain(`cannot open the PostgreSQL store postgres://mail@127.0.0.1:${port}/mailbox`)
    expect((thrown as Error).message).not.toContain('secret')
  })

  it('constraints keep the invariants: one folder name per user, one message per (folder, UID), no blob deleted while used', async () => {
    const {store} = await pools.fresh()
    const q = (sql: string, params: unknown[] = []) => store.pool.query(sql, params)
    await q("INSERT INTO folders (user_address, name, uid_validity, created_at) VALUES ('a@x.test', 'INBOX', 1, 0)")
    await expect(q("INSERT INTO folders (user_address, name, uid_validity, created_at) VALUES ('a@x.test', 'INBOX', 2, 0)")).rejects.toMatchObject({code: '23505'})
    await q("INSERT INTO folders (user_address, name, uid_validity, created_at) VALUES ('b@x.test', 'INBOX', 3, 0)")
    await q("INSERT INTO blobs (id, bytes) VALUES ('b1', '\\x41')")
    const folder = (await q("SELECT id FROM folders WHERE user_address = 'a@x.test'")).rows[0].id
    const message = [folder, 1, 'b1', 0, 1, 2]
    const insertMessage = 'INSERT INTO messages (folder_id, uid, blob_id, internal_date, size, modseq) VALUES ($1, $2, $3, $4, $5, $6)'
    await q(insertMessage, message)
    await expect(q(insertMessage, message)).rejects.toMatchObject({code: '23505'})
    await expect(q("DELETE FROM blobs WHERE id = 'b1'")).rejects.toMatchObject({code: '23503'}) // foreign_key_violation
    await expect(q(insertMessage, [folder, 2, 'no-such-blob', 0, 1, 3])).rejects.toMatchObject({code: '23503'})
    // a claim is a lease: `sending` exactly when an owner and an expiry are set
    await expect(
      q("INSERT INTO queue (id, from_address, domain, recipients, blob_id, priority, state, created_at, due_at) VALUES ('q1', '', 'x.test', '[]', 'b1', 1, 'sending', 0, 0)"),
    ).rejects.toMatchObject({code: '23514'}) // check_violation
  })
})
