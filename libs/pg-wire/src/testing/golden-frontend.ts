// Golden client bytes. Unless marked otherwise they were captured with a recording TCP proxy
// between the named client and PostgreSQL 15.20 (Debian 15.20-0+deb12u1), then pasted here as
// hex. Each stream is what the client wrote on one connection, in order.

/** Hex to bytes; whitespace is ignored so long frames can be wrapped. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** psql 15 with sslmode=prefer against a server without TLS: its first packet. */
export const PSQL_SSL_REQUEST = hex('00000008 04d2162f');

/**
 * GSSENCRequest. Constructed from the spec, not captured: libpq only sends it when a
 * Kerberos credential cache exists, and the capture host had none.
 */
export const GSSENC_REQUEST = hex('00000008 04d21630');

/** psql 15 StartupMessage (PGCLIENTENCODING=UTF8, as interactive psql sets client_encoding): user, database, application_name=psql, client_encoding=UTF8. */
export const PSQL_STARTUP = hex(`
  00000054 00030000
  7573657200 706f73746772657300
  646174616261736500 706f73746772657300
  6170706c69636174696f6e5f6e616d6500 7073716c00
  636c69656e745f656e636f64696e6700 5554463800
  00`);

/** psql 15 -c 'select 1;': the simple Query. */
export const PSQL_QUERY_SELECT_1 = hex('51 0000000e 73656c65637420313b00');

/** psql 15 on exit: Terminate. */
export const PSQL_TERMINATE = hex('58 00000004');

/** psql 15 Ctrl-C during pg_sleep: CancelRequest on a new connection (pid 6803). */
export const PSQL_CANCEL_REQUEST = hex('00000010 04d2162e 00001a93 1252eed0');

/** psql 15 SCRAM login (user scramuser, password 'pencil'): SASLInitialResponse with empty n=. */
export const PSQL_SASL_INITIAL_RESPONSE = hex(`
  70 00000036 534352414d2d5348412d32353600 00000020
  6e2c2c6e3d2c723d703862464b68794467747563476f37595775696f48656570`);

/** psql 15 SCRAM login: SASLResponse carrying the client-final-message. */
export const PSQL_SASL_RESPONSE = hex(`
  70 0000006c
  633d626977732c723d703862464b68794467747563476f37595775696f486565704e6b5976316d3167624d50
  356b5643626736586b574c75552c703d314a423955577135326e5879747732346168574e30453431363172
  484646366c6a7432567456344c7456633d`);

/** psql 15 md5 login (user md5user, password 'pencil', salt e7ab7093): PasswordMessage. */
export const PSQL_MD5_PASSWORD = hex('70 00000028 6d6435356336316566336332336336316238323665353932623130626464396339653200');

/** psql 15 `\copy t from stdin` with input "1\n2\n": the COPY query, one CopyData, CopyDone. */
export const PSQL_COPY_FROM_STDIN = hex(`
  51 00000018 434f50592020742046524f4d20535444494e2000
  64 00000008 310a320a
  63 00000004`);

/** node-postgres 8.x StartupMessage: user, database, client_encoding (no application_name). */
export const NODE_PG_STARTUP = hex(`
  0000003f 00030000
  7573657200 736372616d7573657200
  646174616261736500 706f73746772657300
  636c69656e745f656e636f64696e6700 5554463800
  00`);

/** node-postgres 8.x SASLInitialResponse: it sends n=* where libpq sends n=. */
export const NODE_PG_SASL_INITIAL_RESPONSE = hex(`
  70 00000037 534352414d2d5348412d32353600 00000021
  6e2c2c6e3d2a2c723d444555545852465957686e6a7a436438313642704a415778`);

/**
 * node-postgres 8.x `client.query({ text: 'select $1::int4 as n, $2::text as t', values: [42, null] })`:
 * Parse, Bind, Describe portal, Execute, Sync, written in one chunk.
 */
export const NODE_PG_EXTENDED_QUERY = hex(`
  50 0000002b 00 73656c6563742024313a3a696e7434206173206e2c2024323a3a74657874206173207400 0000
  42 0000001c 00 00 0002 0000 0000 0002 00000002 3432 ffffffff 0001 0000
  44 00000006 50 00
  45 00000009 00 00000000
  53 00000004`);

/**
 * Frames produced by node-postgres's own serializer (pg-protocol 1.16 `serialize.*`), for
 * messages its query API does not send on its own.
 */
export const PG_PROTOCOL_SERIALIZED = {
  flush: hex('48 00000004'),
  closeStatement: hex('43 0000000b 53 73746d743100'),
  closePortal: hex('43 00000006 50 00'),
  copyFail: hex('66 00000014 61626f72746564206279207573657200'),
  describeStatement: hex('44 0000000b 53 73746d743100'),
  parseWithTypes: hex('50 0000001a 73746d743100 73656c656374202431 00 0001 00000017'),
  bindBinary: hex('42 0000001d 00 00 0002 0001 0000 0002 00000002 0102 00000001 78 0001 0000'),
  executeTenRows: hex('45 00000009 00 0000000a'),
};

/** FunctionCall, constructed from the spec (libpq PQfn of function OID 1177 with no arguments). */
export const FUNCTION_CALL = hex('46 0000000e 00000499 0000 0000 0000');

/**
 * FunctionCall as libpq's pqFunctionCall3 builds it for lo_open(16385, INV_READ|INV_WRITE):
 * OID 952, one format code 1 (libpq sends every fast-path argument binary), two Int32
 * arguments, result format 1. Constructed from libpq's source.
 */
export const LIBPQ_LO_OPEN_CALL = hex('46 00000020 000003b8 0001 0001 0002 00000004 00004001 00000004 00060000 0001');

/** FunctionCall with a NULL argument, a text one and per-argument format codes (OID 2000000000). */
export const FUNCTION_CALL_MIXED = hex('46 0000001d 77359400 0002 0000 0001 0002 ffffffff 00000003 616263 0000');

// pgjdbc 42.7.14 (Java 17), URL jdbc:postgresql://host/demo?sslmode=disable, trust auth so no
// password message; each constant is one socket write. On exit it sends Terminate, byte for
// byte PSQL_TERMINATE.

/** pgjdbc 42.7 StartupMessage: user, database, client_encoding=UTF8, DateStyle=ISO, TimeZone (the JVM's, Etc/UTC). */
export const JDBC_STARTUP = hex(`
  00000059 00030000
  7573657200 706f73746772657300
  646174616261736500 64656d6f00
  636c69656e745f656e636f64696e6700 5554463800
  446174655374796c6500 49534f00
  54696d655a6f6e6500 4574632f55544300
  00`);

/** pgjdbc 42.7 right after the first ReadyForQuery: application_name as a simple Query, not a startup parameter. */
export const JDBC_SET_APPLICATION_NAME = hex(`
  51 00000034 534554206170706c69636174696f6e5f6e616d65203d2027506f737467726553514c204a444243204472697665722700`);

/**
 * pgjdbc 42.7 `prepareStatement("select id, name from customers where id = ? and name <> ?")`,
 * setLong(1, 2), setString(2, "x"), executeQuery(), first of five executions: unnamed Parse
 * with parameter types int8 and varchar, Bind with the int8 in binary, Describe portal,
 * Execute, Sync, in one write.
 */
export const JDBC_EXTENDED_QUERY = hex(`
  50 0000004b 00
    73656c6563742069642c206e616d652066726f6d20637573746f6d657273207768657265206964203d20243120616e64206e616d65203c3e20243200
    0002 00000014 00000413
  42 00000021 00 00 0002 0001 0000 0002 00000008 0000000000000002 00000001 78 0000
  44 00000006 50 00
  45 00000009 00 00000000
  53 00000004`);

/**
 * The same PreparedStatement on its fifth execution (prepareThreshold=5): pgjdbc switches to
 * the named server-prepared statement S_1, so Parse and Bind carry the name.
 */
export const JDBC_PREPARE_S_1 = hex(`
  50 0000004e 535f3100
    73656c6563742069642c206e616d652066726f6d20637573746f6d657273207768657265206964203d20243120616e64206e616d65203c3e20243200
    0002 00000014 00000413
  42 00000024 00 535f3100 0002 0001 0000 0002 00000008 0000000000000002 00000001 78 0000
  44 00000006 50 00
  45 00000009 00 00000000
  53 00000004`);

/**
 * The sixth execution: only Bind S_1 (now asking for column 1, the bigint id, in binary),
 * Execute, Sync; no Parse and no Describe.
 */
export const JDBC_EXECUTE_S_1 = hex(`
  42 00000028 00 535f3100 0002 0001 0000 0002 00000008 0000000000000001 00000001 78 0002 0001 0000
  45 00000009 00 00000000
  53 00000004`);

/**
 * pgjdbc 42.7 batch: `insert into orders (id, customer_id, amount, status, created_at) values
 * (?, ?, ?, ?, now())` with three addBatch() rows (setLong, setLong, setBigDecimal("12.34"),
 * setString) and executeBatch(): a batch is server-prepared at once (S_2), then three
 * Bind/Describe/Execute with int8 and numeric in binary and Execute limited to one row,
 * and a single Sync.
 */
export const JDBC_BATCH = hex(`
  50 0000007a 535f3200
    696e7365727420696e746f206f7264657273202869642c20637573746f6d65725f69642c20616d6f756e742c207374617475732c20637265617465645f6174292076616c756573202824312c2024322c2024332c2024342c206e6f77282929 00
    0004 00000014 00000014 000006a4 00000413
  42 00000047 00 535f3200 0004 0001 0001 0001 0000 0004
    00000008 0000000000000064 00000008 0000000000000001 0000000c 0002000000000002000c0d48 00000004 6f70656e 0000
  44 00000006 50 00
  45 00000009 00 00000001
  42 00000047 00 535f3200 0004 0001 0001 0001 0000 0004
    00000008 0000000000000065 00000008 0000000000000001 0000000c 0002000000000002000c0d48 00000004 6f70656e 0000
  44 00000006 50 00
  45 00000009 00 00000001
  42 00000047 00 535f3200 0004 0001 0001 0001 0000 0004
    00000008 0000000000000066 00000008 0000000000000001 0000000c 0002000000000002000c0d48 00000004 6f70656e 0000
  44 00000006 50 00
  45 00000009 00 00000001
  53 00000004`);
