/** A Redfish resource as parsed JSON: always an object at the top level. */
export type RedfishResource = { [key: string]: unknown };

/**
 * The read side of Redfish that discovery needs. Implemented by `RedfishClient` (a live BMC) and `FixtureSource`
 * (a capture directory), so the same discovery code runs on both.
 */
export interface RedfishSource {
  /** Where the data comes from, for evidence and messages: the BMC origin or the capture directory. */
  readonly location: string;
  /** Path of the service root, e.g. "/redfish/v1". */
  readonly rootPath: string;
  /** False when reads beyond the service root cannot authenticate (no user name given). */
  readonly hasCredentials: boolean;
  /**
   * GET a resource: an absolute path ("/redfish/v1/Managers/1"), a path relative to the root ("Managers/1") or
   * "" for the service root. Missing resources reject with a RedfishError of kind 'http' and status 404.
   */
  get(path: string): Promise<RedfishResource>;
}

/** Removes trailing slashes (iLO answers `/redfish/v1/Managers/1/`), keeping "/" itself. */
export function trimSlashes(path: string): string {
  const t = path.replace(/\/+$/, '');
  return t === '' ? '/' : t;
}

/** Resolves a Redfish path against the root prefix: "" -> root, "Managers" -> root/Managers, "/x" stays. */
export function resolveRedfishPath(rootPath: string, path: string): string {
  const root = trimSlashes(rootPath.startsWith('/') ? rootPath : `/${rootPath}`);
  if (path === '/') return '/';
  if (path === '') return root === '/' ? '/' : `${root}/`;
  if (path.startsWith('/')) return path;
  return `${root === '/' ? '' : root}/${path}`;
}

/** Same resource? Compares normalised paths: no trailing slash, no fragment, case-insensitive (iLO 4 uses `managers`). */
export function samePath(a: string, b: string): boolean {
  return normalisePath(a) === normalisePath(b);
}

export function normalisePath(path: string): string {
  return trimSlashes(path.replace(/[#?].*$/, '')).toLowerCase();
}

/** `@odata.id` of a resource or of a link object, or undefined. */
export function odataId(value: unknown): string | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const id = (value as Record<string, unknown>)['@odata.id'];
    if (typeof id === 'string' && id !== '') return id;
  }
  return undefined;
}

/** The `@odata.id`s of a collection's Members, or of a link array such as Links.ManagedBy. */
export function memberIds(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map(odataId).filter((id): id is string => id !== undefined);
}
