import {defineConfig} from 'vitest/config'

/**
 * The backend matrix (docs/store-interface.md, "The backend matrix"): these end-to-end files run
 * a second time with every data dir's store on PostgreSQL (test/helpers/backend.ts), chosen for
 * coverage per second: IMAP (imapflow sync, CONDSTORE, python imaplib), POP3 (poplib), SMTP
 * (nodemailer, refusals), the CLI (domains and users, folders, messages), the queue (delivery to
 * a receiver, admin offline and online), capture rules and the matcher.
 */
export const BACKEND_MATRIX = [
  'test/e2e/imap-flow-sync.test.ts',
  'test/e2e/imap-condstore.test.ts',
  'test/e2e/imap-python.test.ts',
  'test/e2e/pop3-poplib.test.ts',
  'test/e2e/smtp-nodemailer.test.ts',
  'test/e2e/smtp-refusals.test.ts',
  'test/e2e/cli-domain-user.test.ts',
  'test/e2e/cli-folder.test.ts',
  'test/e2e/capture-rules.test.ts',
  'test/e2e/matcher-protocol.test.ts',
  'test/e2e/queue-delivery.test.ts',
  'test/e2e/queue-admin-offline.test.ts',
  'test/e2e/queue-admin-online.test.ts',
]

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end suites start real servers; two workers match the 2-core CI machine (all projects share them).
    maxWorkers: 2,
    projects: [
      {extends: true, test: {name: 'lmdb', include: ['test/**/*.test.ts']}},
      {
        extends: true,
        test: {
          name: 'postgres',
          include: BACKEND_MATRIX,
          env: {MAILBOX_TEST_BACKEND: 'postgres'},
          globalSetup: ['test/helpers/matrix-setup.ts'],
        },
      },
    ],
  },
})
