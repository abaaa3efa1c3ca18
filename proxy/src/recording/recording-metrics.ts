import { Counter, type Registry } from 'prom-client';

/** The recording counters, on the proxy's registry (ProxyMetrics.registry); create one set per registry. */
export class RecordingMetrics {
  readonly recordings: Counter;
  readonly bytes: Counter;
  readonly pruned: Counter;

  constructor(registry: Registry) {
    this.recordings = new Counter({
      name: 'bmc_proxy_recordings_total',
      help: 'Session recordings started',
      registers: [registry],
    });
    this.bytes = new Counter({
      name: 'bmc_proxy_recording_bytes_total',
      help: 'Bytes written to session recordings',
      registers: [registry],
    });
    this.pruned = new Counter({
      name: 'bmc_proxy_recordings_pruned_total',
      help: 'Session recordings removed for the size or age limit',
      registers: [registry],
    });
  }
}
