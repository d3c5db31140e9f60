/**
 * `serve`'s metrics: a prom-client registry with the process's default metrics (process_*,
 * nodejs_*), the counters that follow the bus (./events.ts), the latency histograms fed by hooks
 * (./timings.ts), the gauges read at scrape time (./collectors.ts), and the HTTP listener
 * (./http.ts) with /healthz (./health.ts). App loads this module only when `metrics.port` is set,
 * so no other command (nor serve without it) loads prom-client.
 *
 * Two steps: the constructor starts counting (before the front-ends take connections), `listen()`
 * opens the port once every other listener is bound.
 */
import {Registry, collectDefaultMetrics} from 'prom-client'
import type {Bus} from '../bus.js'
import type {Logger} from '../log.js'
import type {ListenerInfo} from '../status.js'
import {scrapeCollectors, type ScrapeSources} from './collectors.js'
import type {MetricsConfig} from './config.js'
import {countEvents} from './events.js'
import {unhealthy} from './health.js'
import {MetricsHttp} from './http.js'
import {timings, type Timings} from './timings.js'

export interface MetricsSources extends ScrapeSources {
  bus: Bus
  /** what serve listens on (the metrics listener joins it) */
  listeners(): ListenerInfo[]
  stopping(): boolean
}

export class MetricsService {
  readonly registry = new Registry()
  private readonly timings: Timings
  private readonly http: MetricsHttp
  private readonly unsubscribe: (() => void)[]

  constructor(config: MetricsConfig, sources: MetricsSources, log: Logger) {
    collectDefaultMetrics({register: this.registry})
    this.timings = timings(this.registry)
    scrapeCollectors(this.registry, sources)
    this.unsubscribe = [countEvents(sources.bus, this.registry), sources.store.observeCommits(this.timings.commitObserved)]
    this.http = new MetricsHttp(
      config,
      {
        metrics: async () => ({contentType: this.registry.contentType, text: await this.registry.metrics()}),
        unhealthy: () =>
          unhealthy({
            store: sources.store,
            listeners: () => sources.listeners().map((l) => l.name),
            commitFailure: () => this.timings.commitFailure,
            stopping: sources.stopping,
          }),
      },
      log,
    )
  }

  /** for ImapFrontEnd.commandDone */
  get imapCommandDone(): (command: string, seconds: number) => void {
    return this.timings.imapCommandDone
  }

  async listen(): Promise<ListenerInfo> {
    await this.http.start()
    return {name: 'metrics', address: this.http.address}
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe) off()
    await this.http.stop()
  }
}
