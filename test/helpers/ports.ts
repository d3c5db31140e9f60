/** A TCP port that was free a moment ago on 127.0.0.1 (shared by the tests and the benchmarks). */
import {createServer} from 'node:net'

/** ports this process handed out: two servers started side by side must not both get the same one */
const given = new Set<number>()

function probe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address() as {port: number}
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probe()
    if (given.has(port)) continue
    given.add(port)
    return port
  }
}
