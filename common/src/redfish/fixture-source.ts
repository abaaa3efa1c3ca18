import { readdir, readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { RedfishError } from './error.js';
import { normalisePath, odataId, resolveRedfishPath, type RedfishResource, type RedfishSource } from './source.js';

/** Marks a collection the capture did not contain and FixtureSource built from the member files. */
export const SYNTHESISED = '@bmc-console.synthesised';

/**
 * Redfish read access to a capture directory (shared/fixtures/redfish naming: `root.json` is the service root, other
 * files are the path below `/redfish/v1/` with `/` replaced by `_`, `*.variants.json` holds several payloads of which
 * `default` is used). Each file is filed under its own `@odata.id` when it has one, since an `_` inside an Id makes
 * the file name ambiguous (`Managers_BMC_0.json`). Lookups ignore case and trailing slashes, as iLO's paths vary.
 * A collection missing from the capture (many captures hold only a Manager or a System) is built from the member
 * files present, marked with SYNTHESISED; a missing service root stays missing.
 */
export class FixtureSource implements RedfishSource {
  readonly location: string;
  readonly rootPath = '/redfish/v1';
  readonly hasCredentials = true;
  private index: Promise<Map<string, RedfishResource>> | undefined;

  constructor(dir: string) {
    this.location = resolve(dir);
  }

  async get(path: string): Promise<RedfishResource> {
    const index = await (this.index ??= this.load());
    const absolute = resolveRedfishPath(this.rootPath, path);
    const key = normalisePath(absolute);
    const found = index.get(key);
    if (found) return found;
    const synthesised = key !== normalisePath(this.rootPath) ? this.collectionFrom(index, key, absolute) : undefined;
    if (synthesised) return synthesised;
    throw new RedfishError('http', `${this.location}: ${absolute}`, 'not in the capture (HTTP 404)', { status: 404 });
  }

  private async load(): Promise<Map<string, RedfishResource>> {
    let names: string[];
    try {
      names = (await readdir(this.location)).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new RedfishError('unreachable', this.location, `cannot read the capture directory (${code})`, {
        cause: err,
      });
    }
    const index = new Map<string, RedfishResource>();
    for (const name of names) {
      const variants = name.endsWith('.variants.json');
      const stem = basename(name, variants ? '.variants.json' : '.json');
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(resolve(this.location, name), 'utf8'));
      } catch (err) {
        throw new RedfishError(
          'protocol',
          `${this.location}/${name}`,
          `not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      const resource = variants && isObject(parsed) ? parsed.default : parsed;
      if (!isObject(resource)) continue;
      const fromName = stem === 'root' ? this.rootPath : `${this.rootPath}/${stem.replace(/_/g, '/')}`;
      const key = normalisePath(stem === 'root' ? this.rootPath : (odataId(resource) ?? fromName));
      if (!index.has(key)) index.set(key, resource);
    }
    return index;
  }

  /** A collection built from the files one path segment below `key`, or undefined when there are none. */
  private collectionFrom(index: Map<string, RedfishResource>, key: string, path: string): RedfishResource | undefined {
    const prefix = `${key}/`;
    const members = [...index.entries()]
      .filter(([k]) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
      .map(([k, r]) => ({ '@odata.id': odataId(r) ?? k }));
    if (members.length === 0) return undefined;
    return {
      '@odata.id': path,
      Name: `${basename(path)} (built from the capture's member files)`,
      Members: members,
      'Members@odata.count': members.length,
      [SYNTHESISED]: true,
    };
  }
}

function isObject(v: unknown): v is RedfishResource {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
