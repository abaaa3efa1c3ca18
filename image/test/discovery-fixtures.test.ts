/**
 * Discovery against every real Redfish capture of the optional set (REDFISH_CAPTURES; read in place, never copied), with
 * the labels of expected.tsv. Generation "-" (not applicable) and "unknown" both mean null in Discovery.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directVendorFor } from '@bmc-console/common/direct/support';
import { discover } from '@bmc-console/common/discovery/discover';
import { FixtureSource } from '@bmc-console/common/redfish/fixture-source';
import { capturesMissing, REDFISH_CAPTURES } from '@bmc-console/common/testing/redfish-captures';

const fixtures = REDFISH_CAPTURES;
const expectedFile = resolve(fixtures, 'expected.tsv');
const missing = capturesMissing('expected.tsv');
const present = missing === undefined;
if (!present) console.warn(`discovery-fixtures: ${missing}; skipping`);

interface Row {
  folder: string;
  vendor: string;
  family: string;
  generation: string | null;
}

const rows: Row[] = present
  ? readFileSync(expectedFile, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => {
        const [folder = '', vendor = '', family = '', generation = ''] = line.split('\t');
        return {
          folder,
          vendor,
          family,
          generation: generation === '-' || generation === 'unknown' ? null : generation,
        };
      })
  : [];

/**
 * Labels that no detector can reach from the data itself. This root is byte-identical to the bmclib root labelled
 * "unknown" except for the UUID (the BMC's MAC); its "x13" comes from SOURCES.md provenance (same BMC as the full
 * X13 capture), not from any field. Vendor and family are still checked.
 */
const GENERATION_NOT_IN_DATA: Record<string, string> = {
  'supermicro-x13-sys821ge-tnhr-root-redfish1.9':
    'root only; identical to supermicro-redfish1.9-root-only-bmclib apart from the UUID',
};

describe.skipIf(!present)('discovery on the real Redfish captures', () => {
  it('has all the labelled folders', () => {
    expect(rows.length).toBe(41);
    for (const r of rows) expect(existsSync(resolve(fixtures, r.folder)), r.folder).toBe(true);
  });

  it.each(rows)('$folder -> $vendor $family $generation', async (row) => {
    const d = await discover(new FixtureSource(resolve(fixtures, row.folder)));
    expect({ vendor: d.vendor, family: d.family }).toEqual({ vendor: row.vendor, family: row.family });
    if (GENERATION_NOT_IN_DATA[row.folder]) expect(d.generation).toBeNull();
    else expect(d.generation).toBe(row.generation);
    expect(d.evidence.length).toBeGreaterThan(0);
  });
});

/** The captures a direct console serves (docs/direct.md): OpenBMC, and iDRAC9 whose firmware is 6.00 or later. */
const DIRECT_CAPTURES: Record<string, string> = {
  'dell-idrac9-15g-r750-fw6.00': 'idrac9',
  'dell-idrac9-15g-r750-fw7.10': 'idrac9',
  'openbmc-nvidia-bluefield3-dpu': 'openbmc',
  'openbmc-nvidia-gb200-nvl': 'openbmc',
  'openbmc-nvidia-gh200': 'openbmc',
  'openbmc-stock-bmcweb': 'openbmc',
};

describe.skipIf(!present)("console_mode auto's dialect on the real captures", () => {
  it.each(rows)('$folder', async (row) => {
    const verdict = directVendorFor(await discover(new FixtureSource(resolve(fixtures, row.folder))));
    expect(verdict.vendor).toBe(DIRECT_CAPTURES[row.folder] ?? null);
    // A BMC served by a container gets a reason for the agent's log line.
    if (verdict.vendor === null) expect(verdict.why.length).toBeGreaterThan(10);
  });
});

describe.skipIf(!present)('discovery pitfalls (redfish-vendor-detection.md §2)', () => {
  const at = (folder: string) => discover(new FixtureSource(resolve(fixtures, folder)));

  it('picks the BMC the system names, not Members[0], and keeps its @odata.id (DGX: AMI BMC + OpenBMC HGX)', async () => {
    const d = await at('ami-megarac-nvidia-dgx-h100');
    expect(d.managerId).toBe('BMC');
    expect(d.managerPath).toBe('/redfish/v1/Managers/BMC');
    expect(d.firmwareVersion).toBe('23.11.20');
  });

  it('skips Cisco adapter managers and finds the CIMC', async () => {
    const d = await at('_unlicensed/cisco-cimc-c225m6s-fw4.2.2a');
    expect(d.managerId).toBe('CIMC');
  });

  it('reads iLO 7 firmware without the "iLO 7 v" prefix and still says 7', async () => {
    const d = await at('hpe-ilo7-dl360gen12-fw1.14');
    expect(d).toMatchObject({ generation: '7', firmwareVersion: '1.14.00 May 28 2025' });
  });

  it('handles trailing slashes in iLO paths', async () => {
    const d = await at('hpe-ilo5-dl180gen10-fw1.15');
    expect(d.managerPath).toBe('/redfish/v1/Managers/1/');
    expect(d.systemPath).toBe('/redfish/v1/Systems/1/');
  });

  it('ignores non-vendor Oem keys (@odata.*, UptimeSeconds, Gigabyte "Vendor")', async () => {
    const gh = await at('openbmc-nvidia-gh200');
    expect(gh.evidence.join('\n')).not.toMatch(/@odata|UptimeSeconds/);
    const gb = await at('ami-megarac-gigabyte-h262-z63');
    expect(gb.evidence.join('\n')).not.toMatch(/Oem key "Vendor"/);
  });

  it('does not call an HPE Cray EX node controller an iLO', async () => {
    const d = await at('hpe-cray-ex235a-nodecontroller');
    expect(d.family).toBe('cray-ex-bmc');
  });

  it('gives the evidence for an unknown BMC instead of throwing', async () => {
    const d = await discover({
      location: 'inline',
      rootPath: '/redfish/v1',
      hasCredentials: false,
      get: async () => ({
        '@odata.id': '/redfish/v1/',
        Name: 'Root Service',
        Vendor: 'Acme BMC Works',
        Oem: { Acme: {} },
      }),
    });
    expect(d).toMatchObject({ vendor: 'unknown', family: 'unknown', generation: null, managerId: null });
    expect(d.evidence).toEqual(
      expect.arrayContaining(['no detector matched', 'root Vendor="Acme BMC Works"', 'root Oem keys: Acme']),
    );
  });

  it('names the maker of a BMC without a family (Fujitsu iRMC: Oem ts_fujitsu) and reads nothing beyond the root without credentials', async () => {
    const paths: string[] = [];
    const d = await discover({
      location: 'inline',
      rootPath: '/redfish/v1',
      hasCredentials: false,
      get: async (path) => {
        paths.push(path);
        return {
          '@odata.id': '/redfish/v1/',
          Name: 'Root Service',
          Oem: { ts_fujitsu: { '@odata.type': '#FTSServiceRoot' } },
        };
      },
    });
    expect(d).toMatchObject({ vendor: 'fujitsu', family: 'unknown' });
    expect(paths).toEqual(['']);
    expect(d.evidence).toContain('no user name given: Manager and System not read');
  });
});
