// SFTP v3 wire facts the relay decides on (draft-ietf-secsh-filexfer-02, the version
// OpenSSH speaks): the SSH_FXF_* open flags and the SSH_FX_* status codes.

/** SSH_FXF_* bits of an OPEN request's pflags. */
export const OPEN_FLAG = {
  READ: 0x01,
  WRITE: 0x02,
  APPEND: 0x04,
  CREAT: 0x08,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

/** SSH_FX_* status codes; v3 defines no others. */
export const SFTP_STATUS = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

export type SftpStatusName = keyof typeof SFTP_STATUS;

const STATUS_NAMES = new Map<number, SftpStatusName>(Object.entries(SFTP_STATUS).map(([name, code]) => [code, name as SftpStatusName]));

/** The SSH_FX_* name of a status code; FAILURE for a code outside v3 (a peer bug we must not echo). */
export function statusName(code: number): SftpStatusName {
  return STATUS_NAMES.get(code) ?? 'FAILURE';
}

/** True when `code` is a status v3 defines (ssh2 refuses to send any other). */
export function isKnownStatus(code: number): boolean {
  return STATUS_NAMES.has(code);
}

/**
 * OPEN is a read only when READ is the sole bit set (or no bit at all: OpenSSH opens
 * O_RDONLY then). Every other bit, including EXCL and bits v3 does not define, counts as
 * a write, so an unknown flag can never slip a write past a read-only policy.
 */
export function openOperation(pflags: number): 'open-read' | 'open-write' {
  return (pflags & ~OPEN_FLAG.READ) === 0 ? 'open-read' : 'open-write';
}
