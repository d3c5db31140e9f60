/**
 * A worker thread for a TypeScript module, when the code runs from its sources (tests, `tsx`):
 * a thread does not inherit the parent's module hooks, so it registers tsx itself before
 * importing the module. The compiled code (dist/, the single executable) never comes here.
 */
import {Worker, type WorkerOptions} from 'node:worker_threads'

export const runsFromSource = (script: URL): boolean => script.pathname.endsWith('.ts')

export function workerFromSource(script: URL, options: WorkerOptions): Worker {
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}) })`
  return new Worker(bootstrap, {...options, eval: true})
}
