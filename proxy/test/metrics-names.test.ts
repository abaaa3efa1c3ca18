import { describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../src/metrics.js';

describe('proxy metrics names', () => {
  it("keeps prom-client's default process metrics under their standard names and prefixes only its own", async () => {
    const text = await new ProxyMetrics().registry.metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).not.toMatch(/^bmc_proxy_(process|nodejs)_/m);
    expect(text).toMatch(/^bmc_proxy_sessions_active 0/m);
  });
});
