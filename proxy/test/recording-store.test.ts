// The recordings directory: listing, and pruning by size and age (oldest first, never a recording being written).
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { listRecordings, pruneRecordings } from '../src/recording/recording-store.js';
import { createRecorderFactory } from '../src/recording/recording-writer.js';
import { newFactory, quiet, record, recordingsConfig, session } from './recording-fixtures.js';

const DAY = 24 * 3600 * 1000;
const daysAgo = (d: number) => new Date(Date.now() - d * DAY);
const kib = (n: number) => Buffer.alloc(n * 1024, 3);

describe('recording store', () => {
  it('lists recordings oldest first with node, user, role, start, size and completeness', async () => {
    const { config, factory } = newFactory();
    const old = await record(factory, session({ start: daysAgo(3), user: 'bob', role: 'view' }));
    const recent = await record(factory, session({ start: daysAgo(1), node: 'node-2', user: null }));
    const open = factory(session({ start: daysAgo(0) }));
    open.consoleBytes(Buffer.from('still going'));
    writeFileSync(join(config.dir, 'notes.txt'), 'not a recording');
    writeFileSync(join(config.dir, '20260101T000000Z-node-1-00000000.bmcrec'), 'garbage');

    const all = await factory.store.list();
    expect(all.map((r) => r.id)).toEqual(['20260101T000000Z-node-1-00000000', old, recent, open.id]);
    expect(all[0]).toMatchObject({
      complete: false,
      user: null,
      role: null,
      problem: expect.stringMatching(/not a recording/),
    });
    expect(all[1]).toMatchObject({
      node: 'node-1',
      user: 'bob',
      role: 'view',
      complete: true,
      recording: false,
      bytes: statSync(join(config.dir, `${old}.bmcrec`)).size,
    });
    expect(all[2]).toMatchObject({ node: 'node-2', user: null, role: 'control', complete: true });
    expect(all[3]).toMatchObject({ id: open.id, complete: false, recording: true });
    expect((await listRecordings(config.dir, { node: 'node-2' })).map((r) => r.id)).toEqual([recent]);
    expect(await listRecordings(join(config.dir, 'missing'))).toEqual([]);
    await open.close();
  });

  it('prunes by size, oldest first, and never a recording that is still being written', async () => {
    const { config, factory } = newFactory();
    const ids: string[] = [];
    for (let d = 10; d >= 7; d--)
      ids.push(await record(factory, session({ start: daysAgo(d) }), (r) => r.consoleBytes(kib(100))));
    const open = factory(session({ start: daysAgo(20) })); // the oldest of all, but open
    open.consoleBytes(kib(100));
    await new Promise((r) => setTimeout(r, 50));
    const size = (id: string) => statSync(join(config.dir, `${id}.bmcrec`)).size;
    const each = size(ids[0] as string);

    // Room for three: the open one counts, so the two oldest closed ones go.
    const removed = await factory.store.prune({ maxBytes: 3 * each + 10, maxAgeDays: 365 });
    expect(removed).toEqual([ids[0], ids[1]]);
    expect(readdirSync(config.dir).sort()).toEqual([open.id, ids[2], ids[3]].map((id) => `${id}.bmcrec`).sort());
    // Even with no room at all, the open one stays.
    expect(await factory.store.prune({ maxBytes: 1, maxAgeDays: 365 })).toEqual([ids[2], ids[3]]);
    expect(readdirSync(config.dir)).toEqual([`${open.id}.bmcrec`]);
    await open.close();
  });

  it('prunes by age, and the factory prunes at start and after each recording closes', async () => {
    const registry = new Registry();
    const config = recordingsConfig({ maxAgeDays: 30 });
    // Written by a factory with a generous limit, as if they had aged since.
    const writer = createRecorderFactory({ ...config, maxAgeDays: 100_000 }, quiet);
    const ancient = await record(writer, session({ start: daysAgo(40) }));
    const old = await record(writer, session({ start: daysAgo(31) }));
    const young = await record(writer, session({ start: daysAgo(29) }));
    expect(await pruneRecordings(config.dir, { maxBytes: 1e12, maxAgeDays: 35 })).toEqual([ancient]);

    const factory = createRecorderFactory(config, quiet, registry);
    await factory.idle();
    expect((await factory.store.list()).map((r) => r.id)).toEqual([young]);
    expect(await registry.metrics()).toMatch(/^bmc_proxy_recordings_pruned_total 1$/m);
    expect(old).not.toBe(young);

    // An open recording older than the limit survives prunes triggered by others closing; it goes after its own close.
    const stale = factory(session({ start: daysAgo(45) }));
    await record(factory, session());
    await factory.idle();
    expect((await factory.store.list()).map((r) => r.id)).toContain(stale.id);
    await stale.close();
    expect((await factory.store.list()).map((r) => r.id)).not.toContain(stale.id);
    expect(await registry.metrics()).toMatch(/^bmc_proxy_recordings_pruned_total 2$/m);
  });
});
