/**
 * `npm run bench [-- NAME…]`: runs the named benchmarks (all by default) and prints, for each,
 * what was measured, on what workload, and the ratio against a reference measured in the same
 * run — absolute figures drift on shared machines, ratios much less.
 */
import {benchCli} from './cli.js'
import {benchCluster} from './cluster.js'
import {benchFoundation} from './foundation.js'
import {benchImap} from './imap.js'
import {benchOutbound} from './outbound.js'
import {benchPop3} from './pop3.js'
import {benchRetention} from './retention.js'
import {benchSmtp} from './smtp.js'
import {benchUsers} from './users.js'

const benches: Record<string, () => Promise<void>> = {
  foundation: benchFoundation,
  smtp: benchSmtp,
  outbound: benchOutbound,
  pop3: benchPop3,
  imap: benchImap,
  users: benchUsers,
  cli: benchCli,
  cluster: benchCluster,
  retention: benchRetention,
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
for (const name of wanted.length ? wanted : Object.keys(benches)) {
  const bench = benches[name]
  if (!bench) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(benches).join(', ')}`)
    process.exit(2)
  }
  console.log(`\n== ${name}`)
  await bench()
}
