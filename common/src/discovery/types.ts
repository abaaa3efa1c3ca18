/** What Redfish discovery learnt about a BMC, in the vocabulary of shared/fixtures/redfish/expected.tsv. */
export interface Discovery {
  /** Server maker in lower case: dell, hpe, lenovo, supermicro, gigabyte, nvidia, intel, cisco, ..., unknown. */
  vendor: string;
  /** BMC family, which picks the vendor script: idrac, ilo, xcc, smc-bmc, ami-megarac, openbmc, cimc, intel-bmc, cray-ex-bmc, unknown. */
  family: string;
  /** Generation as a string ("9", "5", "x13", ...) or null when unknown. */
  generation: string | null;
  /** Redfish Manager id (e.g. "iDRAC.Embedded.1", "1", "bmc"), or null. */
  managerId: string | null;
  /** Human-readable reasons, e.g. 'root Vendor="Dell"', 'Manager Model="14G Monolithic"'. */
  evidence: string[];
  /** Optional extra facts scripts use (firmware version, Oem action targets found...). */
  firmwareVersion?: string | null;
  /** Redfish @odata.id of the manager, when known. */
  managerPath?: string | null;
  /** Redfish @odata.id of the first system, when known. */
  systemPath?: string | null;
}
