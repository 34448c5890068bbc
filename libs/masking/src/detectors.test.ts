import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { DETECTOR_NAMES, DETECTORS, type DetectorName, scan } from './index.js';

// The matched strings of one detector, through `scan` (so its prefilter runs) and through
// `find` directly: the prefilter must never hide a match `find` would report.
function found(name: DetectorName, text: string): string[] {
  const viaScan = scan(text, [DETECTORS[name]]).map((m) => text.slice(m.start, m.end));
  const viaFind = DETECTORS[name].find(text).map((m) => text.slice(m.start, m.end));
  assert.deepEqual(viaScan, viaFind, `prefilter of ${name} hides a match in ${JSON.stringify(text)}`);
  return viaScan;
}

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: '1234567890', name: 'Jane' })}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;
const pem = (label: string) => `-----BEGIN ${label}PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END ${label}PRIVATE KEY-----`;
const A36 = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';

// [detector, text, expected matched strings]
const POSITIVE: [DetectorName, string, string[]][] = [
  ['card', '4111111111111111', ['4111111111111111']],
  ['card', '4111 1111 1111 1111', ['4111 1111 1111 1111']],
  ['card', 'card 4111-1111-1111-1111 pasted', ['4111-1111-1111-1111']],
  ['card', 'mc 5500000000000004, mc2 2223000048400011', ['5500000000000004', '2223000048400011']],
  ['card', 'amex 3782 822463 10005', ['3782 822463 10005']],
  ['card', 'discover 6011111111111117 jcb 3530111333300000', ['6011111111111117', '3530111333300000']],
  ['card', 'diners 30569309025904', ['30569309025904']],
  ['card', 'unionpay 6200000000000005', ['6200000000000005']],
  ['card', '4111 1111 1111 1111 2024', ['4111 1111 1111 1111']],
  // A run of many groups before the card: the groups of one run do not carry into the next.
  ['card', 'ref 1234 4111 1111 1111 1111 and 5500000000000004', ['4111 1111 1111 1111', '5500000000000004']],
  ['card', 'first 4111 1111 1111 1111, then 5500000000000004', ['4111 1111 1111 1111', '5500000000000004']],
  ['iban', 'DE89370400440532013000', ['DE89370400440532013000']],
  ['iban', 'pay to DE89 3704 0044 0532 0130 00 today', ['DE89 3704 0044 0532 0130 00']],
  ['iban', 'GB82 WEST 1234 5698 7654 32', ['GB82 WEST 1234 5698 7654 32']],
  ['iban', 'FR1420041010050500013M02606, NL91ABNA0417164300', ['FR1420041010050500013M02606', 'NL91ABNA0417164300']],
  ['iban', 'DE89 3704 0044 0532 0130 00 EUR', ['DE89 3704 0044 0532 0130 00']],
  ['us-ssn', '078-05-1120', ['078-05-1120']],
  ['us-ssn', 'ssn 219 09 9999.', ['219 09 9999']],
  ['email', 'jane.roe@example.com', ['jane.roe@example.com']],
  ['email', 'mail <J.Roe+tag@mail.Example.co.uk>, ok', ['J.Roe+tag@mail.Example.co.uk']],
  ['email', 'mailto:ops@example.org.', ['ops@example.org']],
  ['phone', '(415) 555-2671', ['(415) 555-2671']],
  ['phone', 'call 415-555-2671 now', ['415-555-2671']],
  ['phone', '415.555.2671 or 1-415-555-2671', ['415.555.2671', '1-415-555-2671']],
  ['phone', '+1 415 555 2671', ['+1 415 555 2671']],
  ['phone', '+44 (20) 7946-0958', ['+44 (20) 7946-0958']],
  ['phone', 'tel:+14155552671', ['+14155552671']],
  ['ipv4', '192.168.1.1', ['192.168.1.1']],
  ['ipv4', 'from 10.0.0.255, to 255.255.255.0.', ['10.0.0.255', '255.255.255.0']],
  ['ipv4', 'host=0.0.0.0:5432', ['0.0.0.0']],
  ['ipv6', '::1', ['::1']],
  ['ipv6', 'fe80::1%eth0 up', ['fe80::1%eth0']],
  ['ipv6', '2001:0db8:85a3:0000:0000:8a2e:0370:7334', ['2001:0db8:85a3:0000:0000:8a2e:0370:7334']],
  ['ipv6', 'at [2001:db8::8a2e:370:7334]:5432.', ['2001:db8::8a2e:370:7334']],
  ['ipv6', 'mapped ::ffff:192.0.2.1', ['::ffff:192.0.2.1']],
  ['ipv6', 'dead:beef:cafe:babe:dead:beef:cafe:babe', ['dead:beef:cafe:babe:dead:beef:cafe:babe']],
  ['aws-access-key-id', 'AKIAIOSFODNN7EXAMPLE', ['AKIAIOSFODNN7EXAMPLE']],
  ['aws-access-key-id', 'key=ASIAY34FZKBOKMUTVV7A;', ['ASIAY34FZKBOKMUTVV7A']],
  [
    'aws-secret-access-key',
    'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ],
  [
    'aws-secret-access-key',
    '{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}',
    ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ],
  ['github-token', `token ghp_${A36}`, [`ghp_${A36}`]],
  ['github-token', `gho_${A36} ghs_${A36}`, [`gho_${A36}`, `ghs_${A36}`]],
  ['github-token', `github_pat_${'A1b2_'.repeat(16)}Z9`, [`github_pat_${'A1b2_'.repeat(16)}Z9`]],
  ['slack-token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', ['xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx']],
  // The shortest texts the prefilter lets through: a 15-character token, a 65-character webhook.
  ['slack-token', 'xoxb-1234567890', ['xoxb-1234567890']],
  [
    'slack-token',
    'https://hooks.slack.com/services/T123456/B123456/abcdefghijklmnop',
    ['https://hooks.slack.com/services/T123456/B123456/abcdefghijklmnop'],
  ],
  [
    'slack-token',
    'hook https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D/AbCdEfGhIjKlMnOpQrStUvWx',
    ['https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D/AbCdEfGhIjKlMnOpQrStUvWx'],
  ],
  ['stripe-key', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc', ['sk_live_4eC39HqLyjWDarjtT1zdp7dc']],
  [
    'stripe-key',
    'rk_test_51H8abcdefGHIJKLmnop pk_live_0123456789abcdefXYZ',
    ['rk_test_51H8abcdefGHIJKLmnop', 'pk_live_0123456789abcdefXYZ'],
  ],
  ['jwt', jwt, [jwt]],
  ['jwt', `Authorization: Bearer ${jwt}.`, [jwt]],
  ['jwt', `${b64({ alg: 'none' })}.${b64({ sub: 'x' })}.`, [`${b64({ alg: 'none' })}.${b64({ sub: 'x' })}.`]],
  ['pem-private-key', pem('RSA '), [pem('RSA ')]],
  // The shortest texts a prefilter lets through: a header alone (a truncated cell), 27 characters.
  ['pem-private-key', '-----BEGIN PRIVATE KEY-----', ['-----BEGIN PRIVATE KEY-----']],
  ['pem-private-key', `key:\n${pem('')}\nrest`, [pem('')]],
  ['pem-private-key', `${pem('EC ')}${pem('OPENSSH ')}`, [pem('EC '), pem('OPENSSH ')]],
  ['pem-private-key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJ (cut)', ['-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJ (cut)']],
  ['connection-string-password', 'postgres://user:PASSWORD@host/db', ['PASSWORD']],
  ['connection-string-password', 'postgres://user:s3cret@db.example.com:5432/app', ['s3cret']],
  ['connection-string-password', 'mongodb+srv://app:p%40ss@cluster0.mongodb.net/test', ['p%40ss']],
  ['connection-string-password', 'redis://:redispw@cache:6379 amqp://guest:guest@rabbit', ['redispw', 'guest']],
  ['connection-string-password', 'mysql://root:pa:ss@wd@db', ['pa:ss@wd']],
  ['connection-string-password', 'https://user:pass@example.com/x', ['pass']],
  ['connection-string-password', 'jdbc:postgresql://h/db?user=x&password=secret&ssl=true', ['secret']],
  ['connection-string-password', "host=x password='se cret' user=y", ['se cret']],
  ['connection-string-password', 'Server=x;Database=y;User Id=z;Password=secret;', ['secret']],
  ['connection-string-password', 'Driver={PG};PWD={a}}b;c};', ['a}}b;c']],
  // libpq allows spaces around '=': this password is "user=x"
  ['connection-string-password', 'password= user=x', ['user=x']],
  ['generic-secret-assignment', 'api_key=Zx8f7Kq2LmN4pQ9rT1vW', ['Zx8f7Kq2LmN4pQ9rT1vW']],
  ['generic-secret-assignment', 'client_secret: "q8Z3xY7wV2uT5sR1aB"', ['q8Z3xY7wV2uT5sR1aB']],
  ['generic-secret-assignment', 'export AUTH_TOKEN=9f8e7d6c5b4a3F2E1D0C.', ['9f8e7d6c5b4a3F2E1D0C']],
];

// [detector, text]: realistic near-misses that must not match
const NEGATIVE: [DetectorName, string][] = [
  ['card', '4111111111111112'], // wrong Luhn digit
  ['card', 'md5 132d6c1408f4111111111111111b54b6'], // Luhn-valid digits inside a hex digest
  ['card', 'id_4111111111111111'], // part of an identifier
  ['card', 'x4111111111111111y'], // glued to letters: a word, as in a hex digest (precision over recall)
  ['email', 'tok_3f2a9c0d1e2b4a5c@d0a1b2c3d4e5f.invalid'], // a token: .invalid holds no mailbox (RFC 2606)
  ['card', '4111 1111 1111 1112'],
  ['card', '9876543210123456'], // no brand
  ['card', '1234567812345670'], // Luhn valid, no brand
  ['card', '41111111111111111111'], // 20-digit id
  ['card', '4111 1111 1111 111'], // Visa of 15 digits
  ['card', '5500000000000004123'], // Mastercard has 16 digits only
  ['card', 'pi 3.4111111111111111'], // decimals
  ['card', '4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1'], // digits spaced one by one
  ['card', '20240115103045123'],
  ['iban', 'DE89370400440532013001'], // checksum
  ['iban', 'DE8937040044053201300'], // length
  ['iban', 'DE89 37040044 0532013000'], // grouping
  ['iban', 'XX89370400440532013000'], // country
  ['iban', 'de89370400440532013000'], // lower case
  ['iban', 'DE89370400440532013000X'],
  ['us-ssn', '000-12-3456'],
  ['us-ssn', '666-12-3456'],
  ['us-ssn', '900-12-3456'],
  ['us-ssn', '123-00-4567'],
  ['us-ssn', '123-45-0000'],
  ['us-ssn', '123456789'],
  ['us-ssn', '078-05 1120'],
  ['us-ssn', '1078-05-1120'],
  ['us-ssn', '078-05-11200'],
  ['email', 'a@b'],
  ['email', '@x.com'],
  ['email', 'x@.com'],
  ['email', 'x@com'],
  ['email', 'jane..roe@example.com'],
  ['email', 'jane.@example.com'],
  ['email', 'user@localhost'],
  ['email', 'foo@bar.c'],
  ['email', 'follow @handle.'],
  ['phone', '2024-01-15'],
  ['phone', '2024-01-15T10:30:45+02:00'],
  ['phone', '20240115103045'],
  ['phone', '14155552671'],
  ['phone', '+0 123 456 789'],
  ['phone', '+12 34'],
  ['phone', '123-456-7890'], // NANP area code cannot start with 1
  ['phone', '555-2671'],
  ['phone', '+1234567890123456789'], // more than 15 digits
  ['phone', 'price 1,234,567,890.00'],
  ['ipv4', '1.2.3'],
  ['ipv4', '999.1.1.1'],
  ['ipv4', '1.2.3.4.5'],
  ['ipv4', '01.2.3.4'],
  ['ipv4', '1.2.3.04'],
  ['ipv4', '256.1.1.1'],
  ['ipv4', 'v1.2.3.4'],
  ['ipv4', 'version 10.2.3.4b'],
  ['ipv6', '12:30:45'],
  ['ipv6', '2024-01-15T12:30:45.123Z'],
  ['ipv6', '00:1A:2B:3C:4D:5E'],
  ['ipv6', '1::2::3'],
  ['ipv6', '12345::1'],
  ['ipv6', 'abc::def'],
  ['ipv6', 'std::vector'],
  ['ipv6', 'a ::'],
  ['ipv6', '2001:db8:::1'],
  ['ipv6', '1:2:3:4:5:6:7:8:9'],
  ['aws-access-key-id', 'AKIAIOSFODNN7EXAMPL'],
  ['aws-access-key-id', 'AKIAIOSFODNN7EXAMPLE1'],
  ['aws-access-key-id', 'XAKIAIOSFODNN7EXAMPLE'],
  ['aws-access-key-id', 'AKIAIOSFODNN8EXAMPLE'], // 8 is not base32
  ['aws-access-key-id', 'AKIAiosfodnn7example'],
  ['aws-secret-access-key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ['aws-secret-access-key', `aws_secret_access_key ${'x'.repeat(41)} wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`],
  ['aws-secret-access-key', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX'],
  ['aws-secret-access-key', 'aws_secret_access_key = abcdefghijabcdefghijabcdefghijabcdefghij'],
  ['github-token', `ghp_${A36.slice(1)}`],
  ['github-token', `ghx_${A36}`],
  ['github-token', `ghp_${A36}X`],
  ['github-token', `github_pat_${'A1b2_'.repeat(16)}Z`],
  ['slack-token', 'xoxb-abcdefghijkl'],
  ['slack-token', 'xoxq-123456789012-abc'],
  ['slack-token', 'xoxb-1234'],
  ['slack-token', 'https://hooks.slack.com/services/'],
  ['stripe-key', 'sk_live_short'],
  ['stripe-key', 'sk_prod_abcdefghijklmnop1234'],
  ['stripe-key', 'xsk_live_abcdefghijklmnop1234'],
  ['jwt', `${b64({ typ: 'JWT' })}.${b64({ sub: 'x' })}.sig`], // header without alg
  ['jwt', `${b64({ alg: 'HS256' })}.bm90anNvbg.sig`], // payload is not JSON
  ['jwt', `${b64({ alg: 'HS256' })}.${b64([1, 2])}.sig`], // payload is not an object
  ['jwt', `${b64({ alg: 'HS256' })}.${b64({ sub: 'x' })}`], // two segments
  ['pem-private-key', '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----'],
  ['pem-private-key', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
  ['pem-private-key', '-----BEGIN PGP SIGNATURE-----'],
  ['connection-string-password', 'postgres://user@host/db'],
  ['connection-string-password', 'https://example.com/path?x=1&y=a@b.c'],
  ['connection-string-password', 'postgres://user:@host/db'],
  ['connection-string-password', "Password=;Server=x password='' pwd="],
  ['connection-string-password', 'password_hint=abc mypassword=abc'],
  ['connection-string-password', 'https://host:8443/x'],
  ['generic-secret-assignment', 'api_key=aaaaaaaaaaaaaaaaaaaa'], // low entropy
  ['generic-secret-assignment', 'token=shortvalue1'],
  ['generic-secret-assignment', 'secret=this_is_a_placeholder'], // one character class
  ['generic-secret-assignment', 'monkey=Zx8f7Kq2LmN4pQ9rT1vW'],
  ['generic-secret-assignment', 'created_at: 2024-01-15T10:30:45Z'],
];

test('every detector finds its positive cases, exactly', () => {
  for (const [name, text, expected] of POSITIVE) assert.deepEqual(found(name, text), expected, `${name} in ${JSON.stringify(text)}`);
});

test('no detector matches its near-misses', () => {
  for (const [name, text] of NEGATIVE) assert.deepEqual(found(name, text), [], `${name} in ${JSON.stringify(text)}`);
});

test('every detector has positive and negative cases', () => {
  for (const name of DETECTOR_NAMES) {
    assert.ok(
      POSITIVE.some(([n]) => n === name),
      `no positive case for ${name}`,
    );
    assert.ok(
      NEGATIVE.some(([n]) => n === name),
      `no negative case for ${name}`,
    );
  }
});

test('the registry holds 16 detectors under their own names', () => {
  assert.equal(DETECTOR_NAMES.length, 16);
  for (const name of DETECTOR_NAMES) assert.equal(DETECTORS[name].name, name);
});

test('scan: the longer of two overlapping matches wins, results are sorted and disjoint', () => {
  const all = Object.values(DETECTORS);
  const text = `mail jane.roe@example.com, card 4111111111111111, key AKIAIOSFODNN7EXAMPLE, url postgres://u:pw@db.example.com/x`;
  const ms = scan(text, all);
  assert.deepEqual(
    ms.map((m) => [m.detector, text.slice(m.start, m.end)]),
    [
      ['email', 'jane.roe@example.com'],
      ['card', '4111111111111111'],
      ['aws-access-key-id', 'AKIAIOSFODNN7EXAMPLE'],
      ['connection-string-password', 'pw'],
    ],
  );
  // a JWT assigned to a secret-sounding name: both detectors see the same span; jwt is earlier in the registry
  const assigned = `token=${jwt}`;
  assert.deepEqual(
    scan(assigned, all).map((m) => m.detector),
    ['jwt'],
  );
});

test('scan returns one shared empty array when nothing matches', () => {
  const all = Object.values(DETECTORS);
  assert.equal(scan('Jane Roe', all), scan('2024-01-15 10:30:45', all));
  assert.equal(scan('', all).length, 0);
});

test('pathological inputs stay linear', () => {
  const all = Object.values(DETECTORS);
  const inputs = [
    `${'a'.repeat(50_000)}@`,
    `${'1 '.repeat(25_000)}`,
    `${'9'.repeat(50_000)}.`,
    `${'ab:'.repeat(20_000)}`,
    `${'-----BEGIN '.repeat(5_000)}`,
    `${'x.'.repeat(25_000)}@a.b`,
    `${'password='.repeat(5_000)}`,
    `${'+1 '.repeat(20_000)}`,
    `${'a@b.'.repeat(10_000)}`,
  ];
  for (const text of inputs) {
    const t0 = process.hrtime.bigint();
    scan(text, all);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(ms < 500, `${JSON.stringify(text.slice(0, 12))}… took ${ms.toFixed(0)} ms`);
  }
});
