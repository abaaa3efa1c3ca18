import { z } from 'zod';

/** The BMC KVM dialects a browserless console speaks (docs/direct.md). */
export const DIRECT_VENDORS = ['openbmc', 'xcc3', 'idrac9'] as const;

/**
 * How a node's console is served. `container`: a console container whose Chromium runs the BMC's viewer page.
 * `direct`: no container; the proxy logs in to the BMC and relays the BMC's own RFB (OpenBMC, XCC3, iDRAC9 only).
 * `auto`: Redfish discovery decides, and a BMC that refuses direct gets a container.
 */
export const CONSOLE_MODES = ['auto', 'container', 'direct'] as const;
export type ConsoleMode = (typeof CONSOLE_MODES)[number];
/** What a started console is: `auto` is resolved at start. */
export const SERVED_MODES = ['container', 'direct'] as const;
export type ServedMode = (typeof SERVED_MODES)[number];

const sha256Fingerprint = z
  .string()
  .regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'expected a SHA-256 fingerprint as 32 upper-case hex pairs joined by ":"');

/**
 * A BMC that the proxy (or the agent's RFB relay) logs in to itself: the vendor's KVM dialect, its https address,
 * the credentials, and how its certificate is checked, by the image's rules (Ironic's verify_ca): `verifyCa` true
 * checks the chain against `caBundlePem` when given, else the system store; false accepts only the certificate the
 * agent saw at start (`pinSha256`), or any certificate when no pin is given. The same rule holds for HTTPS and WSS.
 * The agent sends it to the proxy in its token answers; it holds the BMC password, so it is never logged.
 */
export const DirectTargetSchema = z
  .object({
    vendor: z.enum(DIRECT_VENDORS),
    address: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//i.test(u), 'address must be an https:// (or http://) URL'),
    username: z.string().min(1),
    password: z.string(),
    verifyCa: z.boolean(),
    caBundlePem: z.string().includes('-----BEGIN CERTIFICATE-----').optional(),
    pinSha256: sha256Fingerprint.optional(),
  })
  .refine((t) => !(t.caBundlePem && !t.verifyCa), {
    path: ['caBundlePem'],
    message: 'a CA bundle needs verifyCa true',
  })
  .refine((t) => !(t.pinSha256 && t.verifyCa), { path: ['pinSha256'], message: 'a pin is for verifyCa false only' });

export type DirectTarget = z.infer<typeof DirectTargetSchema>;
export type DirectVendor = DirectTarget['vendor'];
