// PasswordMessage answer to AuthenticationMD5Password (Int32(5), Byte4 salt), from
// "Message Formats" and the server's pg_md5_encrypt:
//   "md5" + hex(md5( hex(md5(password || username)) || salt ))
import { createHash } from 'node:crypto';

/** The string an old server expects in a PasswordMessage after AuthenticationMD5Password. */
export function md5PasswordHash(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5')
    .update(Buffer.from(password + user, 'utf8'))
    .digest('hex');
  return `md5${createHash('md5')
    .update(Buffer.concat([Buffer.from(inner, 'latin1'), salt]))
    .digest('hex')}`;
}
