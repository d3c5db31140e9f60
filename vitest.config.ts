import {defineConfig} from 'vitest/config'
import {HASH_COST_ENV} from './src/auth/password.js'
import {RSA_BITS_ENV} from './src/dkim/keys.js'
import {findPostgresBin} from './test/helpers/postgres-bin.js'
import LongestFirstSequencer from './test/helpers/sequencer.js'

/**
 * The backend matrix (docs/store-interface.md, "The backend matrix"): these end-to-end files run
 * a second time with every data dir's store on PostgreSQL (test/helpers/backend.ts), chosen for
 * coverage per second: IMAP (imapflow sync, CONDSTORE, python imaplib), POP3 (poplib), SMTP
 * (nodemailer, refusals), the queue (delivery to a receiver, admin offline and online), capture
 * rules and the matcher; the CLI through the queue commands, and in full in
 * test/e2e/cli-pg-store.test.ts (their set-up, `domain add`, `user add`, and `message list|show`
 * run the commands' functions in-process: test/helpers/test-store.ts, test/e2e/smtp-helpers.ts).
 */
export const BACKEND_MATRIX = [
  'test/e2e/imap-flow-sync.test.ts',
  'test/e2e/imap-condstore.test.ts',
  'test/e2e/imap-python.test.ts',
  'test/e2e/pop3-poplib.test.ts',
  'test/e2e/smtp-nodemailer.test.ts',
  'test/e2e/queue-admin-online.test.ts',
  // capture retention: pruning through both stores' expunges, blobs released, several nodes' rule (idempotent by UID)
  'test/e2e/capture-retention.test.ts',
  // mailbox verify and --repair on each store's layout (PostgreSQL: damaged by SQL)
  'test/e2e/verify.test.ts',
  // greylisting: the triplets in each store, a pass kept across kill -9
  'test/e2e/greylist.test.ts',
]

/**
 * Ready for the matrix and passing on it, but left out of `npm test` for the CI budget (each
 * seeds a template and copies its store per test: on PostgreSQL a `store copy` into a freshly
 * migrated schema, ~2 min of a loaded 2-core machine together): MAILBOX_TEST_MATRIX=all adds them.
 */
export const BACKEND_MATRIX_MORE = [
  // Sieve at delivery: placements, redirects and vacation records through both backends (their store parts have contract tests)
  'test/e2e/sieve-delivery.test.ts',
  // SRS bounces: the secret from PostgreSQL's settings table, read by serve and the CLI alike
  'test/e2e/srs-bounce.test.ts',
  // cert list|show reading certificates from PostgreSQL's certificates table
  'test/e2e/cli-cert.test.ts',
  'test/e2e/cli-domain-user.test.ts',
  'test/e2e/cli-folder.test.ts',
  // subscriptions, LSUB and LIST-EXTENDED on both backends' subscription sets
  'test/e2e/imap-names.test.ts',
  // pass on PostgreSQL too; out of the default run for the CI budget (the slowest per test)
  'test/e2e/smtp-refusals.test.ts',
  'test/e2e/capture-rules.test.ts',
  'test/e2e/queue-admin-offline.test.ts',
  // on PostgreSQL also covered by test/e2e/cluster.test.ts (a MATCH across nodes, a delivery taken over)
  'test/e2e/matcher-protocol.test.ts',
  // ACME against pebble: the account and certificates in store.certs, kept across a restart
  'test/e2e/acme.test.ts',
  'test/e2e/queue-delivery.test.ts',
  // IMAP QUOTA: the usage sum and the quota check of each store
  'test/e2e/imap-quota.test.ts',
  // SEARCH's body text cache (blobText) of each store, ESEARCH/SEARCHRES/CONTEXT over its views
  'test/e2e/imap-search.test.ts',
  // mbox/Maildir import and export through each store (IDLE sees imported mail by the change feed there)
  'test/e2e/mail-transfer.test.ts',
  // /metrics of each store: the commit histogram, the store's size (free pages: LMDB only)
  'test/e2e/metrics.test.ts',
  // rspamd learning from IMAP moves: each store's learning queue, through a restart
  'test/e2e/rspamd-learn.test.ts',
  // mailbox sieve and user vacation over each store's Sieve scripts (the store contract runs on both anyway)
  'test/e2e/sieve-cli.test.ts',
  // ManageSieve: each store's Sieve scripts through sieve-connect and a raw session
  'test/e2e/managesieve.test.ts',
  // MTA-STS on outbound mail: remote policies cached in each store (the store part has a contract test)
  'test/e2e/mta-sts-outbound.test.ts',
  // TLS reports: the counts in each store over a restart, a day claimed and settled once
  'test/e2e/tls-rpt.test.ts',
  // client autoconfiguration: a domain the CLI adds reaches serve's local-domain cache by PostgreSQL's change feed (LMDB: live reads)
  'test/e2e/autoconfig.test.ts',
]

/** as the other PostgreSQL suites: without the programs the matrix is left out on a developer's machine, never in CI (it fails there) */
const withPostgres = findPostgresBin() !== undefined || process.env.CI === 'true'

export default defineConfig({
  test: {
    // cheap argon2id hashes for every mailbox the tests run (src/auth/password.ts): the suite makes
    // and checks hundreds of passwords, at ~170 ms of both cores each by default; the tests of
    // the costs themselves set it (test/unit/password.test.ts, cli-user-import.test.ts, hash-cost.test.ts)
    // and 1024-bit DKIM RSA keys (src/dkim/keys.ts): ~15 ms to make instead of ~200, at every `domain add`
    env: {[HASH_COST_ENV]: 'm=1024,t=1,p=1', [RSA_BITS_ENV]: '1024'},
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end suites start real servers; two workers match the 2-core CI machine (all projects share them).
    maxWorkers: 2,
    // longest files first, over every project, so the two workers finish together (test/helpers/sequencer.ts)
    sequence: {sequencer: LongestFirstSequencer},
    // every file ends with the helpers' cleanups (test/helpers/file-end.ts), isolated or not
    setupFiles: ['test/helpers/file-setup.ts'],
    projects: [
      // one private PostgreSQL server per run for every file that needs one (test/helpers/postgres-setup.ts)
      {extends: true, test: {name: 'lmdb', include: ['test/e2e/**/*.test.ts'], globalSetup: ['test/helpers/postgres-setup.ts']}},
      // The unit files share a module graph per worker (isolate: false): with a fresh one per file,
      // re-importing the sources (the store, the protocols) cost a third of their time (import 21 s
      // of 114 s wall, 173 s of tests, against 8 s, 76 s and 142 s without). What a file changes of
      // global state it restores (process.env, umask, fake timers); the helpers' cleanups run at
      // each file's end all the same (test/helpers/file-end.ts). e2e files keep their isolation:
      // they load more of a module's state (stores open in-process, servers of a file's own).
      {extends: true, test: {name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false, globalSetup: ['test/helpers/postgres-setup.ts']}},
      ...(withPostgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: process.env.MAILBOX_TEST_MATRIX === 'all' ? [...BACKEND_MATRIX, ...BACKEND_MATRIX_MORE] : BACKEND_MATRIX,
                env: {MAILBOX_TEST_BACKEND: 'postgres'},
                globalSetup: ['test/helpers/postgres-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
})
