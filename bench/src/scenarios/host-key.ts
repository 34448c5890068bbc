// OpenSSH public key lines (`<type> <base64 blob> [comment]`, as in a .pub file) as the key blob
// ssh2's hostVerifier is handed, so a pinned key can be compared byte for byte.

/** The wire blob of a public key line; throws when the line is not `<type> <base64>` with a matching type. */
export function publicKeyBlob(line: string): Buffer {
  const [type, base64] = line.trim().split(/\s+/);
  if (!type || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new Error(`not an OpenSSH public key line: ${line.slice(0, 40)}`);
  const blob = Buffer.from(base64, 'base64');
  // The blob opens with the key type as an SSH string: uint32 length, then the bytes.
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const inner = length >= 0 && 4 + length <= blob.length ? blob.subarray(4, 4 + length).toString('latin1') : '';
  if (inner !== type) throw new Error(`public key line says ${type} but its blob holds ${inner || 'no type'}`);
  return blob;
}
