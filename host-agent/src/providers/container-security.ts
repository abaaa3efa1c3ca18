/**
 * What a console container may not do, one place for `podman run` and Quadlet. Chromium's namespace sandbox needs
 * chroot(2) inside its own user namespace, and podman's (and docker's) default seccomp profile allows chroot only
 * when CAP_SYS_CHROOT is in the container's capability set: with `--cap-drop=ALL` the zygote dies ("Check failed:
 * sys_chroot"). `--cap-add=SYS_CHROOT` would put it into the ambient, effective set of the console's non-root
 * processes, so every other capability the engines grant by default is dropped by name instead: the console's
 * processes hold none, and SYS_CHROOT stays only in the bounding set, which no-new-privileges keeps out of reach.
 */
export const DROPPED_CAPABILITIES = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
] as const;

/** `podman run` / `docker run` arguments (one --cap-drop each: docker does not split a comma list). */
export function hardeningRunArgs(): string[] {
  return [...DROPPED_CAPABILITIES.flatMap((c) => ['--cap-drop', c]), '--security-opt', 'no-new-privileges'];
}
