/**
 * What the agent writes to a pooled console's `bmc-console assign` stdin and the console parses: one JSON object,
 * so neither the APP_INFO nor the VNC password is ever in argv or the container's environment.
 */
import { z } from 'zod';
import { caBundleProblem } from '../console-env.js';

export const assignmentSchema = z.object({
  /** The node's APP_INFO, as the APP_INFO variable would carry it. */
  appInfo: z.record(z.string(), z.unknown(), { error: 'expected APP_INFO as a JSON object' }),
  /** The node's VNC password (x11vnc reads its password file again once the file is replaced). */
  vncPassword: z.string().min(1).max(8, 'expected at most 8 characters').optional(),
  /** The PEM text of the CA bundle the node's `verify_ca` named; it replaces `appInfo.verify_ca`. */
  caBundle: z
    .string()
    .superRefine((s, ctx) => {
      const problem = caBundleProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
});
export type Assignment = z.infer<typeof assignmentSchema>;

/** The assignment in `json`, or what is wrong with it, each problem naming its field (never a value). */
export function checkAssignment(json: unknown, whole = 'request'): Assignment | string {
  const parsed = assignmentSchema.safeParse(json);
  return parsed.success
    ? parsed.data
    : parsed.error.issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`).join('; ');
}
