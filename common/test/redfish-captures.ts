/**
 * Where the optional set of real Redfish captures is: `BMC_REDFISH_CAPTURES`, else `fixtures/redfish` in a folder
 * `shared` beside the checkout (where the project's own machines keep it). The set is not shipped with the project
 * (licences): tests that read it report themselves skipped, naming this variable, when it is absent.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../..');

export const REDFISH_CAPTURES = process.env.BMC_REDFISH_CAPTURES
  ? resolve(process.env.BMC_REDFISH_CAPTURES)
  : resolve(repoRoot, '..', 'shared', 'fixtures', 'redfish');

/** Why the captures cannot be used, or undefined when `file` (relative to the set) is there. */
export function capturesMissing(file: string): string | undefined {
  const path = resolve(REDFISH_CAPTURES, file);
  return existsSync(path)
    ? undefined
    : `${path} is absent: the optional Redfish captures are not here (set BMC_REDFISH_CAPTURES to their folder)`;
}
