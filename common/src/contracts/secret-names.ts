/**
 * The console's secret variables: log redaction, the container environment and the supervisor all key on these
 * names, so a secret added here is redacted, mounted and kept from child processes everywhere at once.
 */

/** Variables whose values are secrets; each may instead be given as a file, `<NAME>_FILE` (a secret mount). */
export const SECRET_VARIABLES = ['APP_INFO', 'VNC_PASSWORD'] as const;
export type SecretVariable = (typeof SECRET_VARIABLES)[number];

/** Each secret variable by what it holds, for code that handles one apart from the other (the VNC password is optional). */
export const SECRET_VARIABLE_OF = { appInfo: 'APP_INFO', vncPassword: 'VNC_PASSWORD' } as const satisfies Record<
  string,
  SecretVariable
>;

export type SecretFileVariable = `${SecretVariable}_FILE`;

export function secretFileVariable<V extends SecretVariable>(variable: V): `${V}_FILE` {
  return `${variable}_FILE`;
}

/** Every environment name that carries a secret or names the file holding one. */
export const SECRET_ENV_NAMES: readonly (SecretVariable | SecretFileVariable)[] = SECRET_VARIABLES.flatMap((v) => [
  v,
  secretFileVariable(v),
]);

export function isSecretVariable(name: string): name is SecretVariable {
  return (SECRET_VARIABLES as readonly string[]).includes(name);
}
