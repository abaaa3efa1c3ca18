import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { normalisePath } from './http.js';

/**
 * A directory of captured Redfish JSON (shared/fixtures/redfish naming: root.json = /redfish/v1/, other files are the
 * path below /redfish/v1/ with "/" replaced by "_"). The @odata.id inside a file wins over its name, because ids can
 * contain "_" themselves.
 */
export function loadFixture(dir: string): Map<string, unknown> {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch (e) {
    throw new Error(`fixture: cannot read directory ${dir}: ${(e as Error).message}`);
  }
  if (!names.includes('root.json')) throw new Error(`fixture: ${dir} has no root.json (the service root)`);
  const out = new Map<string, unknown>();
  for (const n of names) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(join(dir, n), 'utf8'));
    } catch (e) {
      throw new Error(`fixture: ${n} is not JSON: ${(e as Error).message}`);
    }
    const byName = n === 'root.json' ? '/redfish/v1' : `/redfish/v1/${n.slice(0, -5).replace(/_/g, '/')}`;
    const id = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['@odata.id'] : undefined;
    const path =
      n === 'root.json' ? '/redfish/v1' : typeof id === 'string' ? normalisePath(id.split('#')[0] ?? id) : byName;
    out.set(path.toLowerCase(), doc);
    if (!out.has(byName.toLowerCase())) out.set(byName.toLowerCase(), doc);
  }
  return out;
}
