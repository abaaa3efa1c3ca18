import { z } from 'zod';

/**
 * A BMC the proxy logs in to itself (issue #28, browserless consoles): the vendor's KVM dialect, its https address,
 * the credentials, and how to check its certificate (false: accept any, as Ironic's verify_ca false; a path: that
 * CA bundle; true: the system store). The same rules hold for HTTPS and WSS.
 */
export const DirectTargetSchema = z.object({
  vendor: z.enum(['openbmc', 'xcc3', 'idrac9']),
  address: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'address must be an https:// (or http://) URL'),
  username: z.string().min(1),
  password: z.string(),
  verifyCa: z.union([z.boolean(), z.string().min(1)]),
});

export type DirectTarget = z.infer<typeof DirectTargetSchema>;
export type DirectVendor = DirectTarget['vendor'];
