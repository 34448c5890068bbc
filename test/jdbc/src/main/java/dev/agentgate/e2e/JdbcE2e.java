// End-to-end checks with the real PostgreSQL JDBC driver (pgjdbc), which speaks only the
// extended query protocol: Parse/Bind/Describe/Execute/Sync, unnamed and named statements,
// portals suspended by Execute's row limit, pipelined batches, and error recovery.
//
// Settings come from AG_JDBC_URL, AG_JDBC_USER and AG_JDBC_PASSWORD (an agent on the demo
// data, which may read but not create) and AG_JDBC_SCRATCH_URL, AG_JDBC_SCRATCH_USER and
// AG_JDBC_SCRATCH_PASSWORD (an agent allowed DDL, for the checks that write: they create TEMP
// tables). Prints one line per check, `ok <name> <details>` or `FAIL <name> <reason>`, and one
// per login, `ok connect ...` and `ok connect-scratch ...`; exits 1 if any check failed (2 on
// missing settings). Never prints a password. Writes only to TEMP tables, which go away with
// the session.
package dev.agentgate.e2e;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.postgresql.PGConnection;
import org.postgresql.PGStatement;
import org.postgresql.jdbc.PreferQueryMode;

public final class JdbcE2e {
  /** A failed expectation; its message is the reason printed after FAIL. */
  static final class CheckFailed extends Exception {
    private static final long serialVersionUID = 1L;

    CheckFailed(String message) {
      super(message);
    }
  }

  @FunctionalInterface
  interface Check {
    /** Runs against a connection in autocommit mode and returns the details for the ok line. */
    String run(Connection c) throws Exception;
  }

  /** Which login a check runs on: the demo data, or the scratch database where it may create. */
  enum Target {
    DEMO("connect"),
    SCRATCH("connect-scratch");

    final String connectCheck;

    Target(String connectCheck) {
      this.connectCheck = connectCheck;
    }
  }

  record Named(String name, Target target, Check check) {}

  record Login(String url, String user, String password) {
    static Login fromEnv(String prefix, List<String> missing) {
      String url = System.getenv(prefix + "_URL");
      String user = System.getenv(prefix + "_USER");
      String password = System.getenv(prefix + "_PASSWORD");
      if (url == null || url.isEmpty()) missing.add(prefix + "_URL");
      if (user == null || user.isEmpty()) missing.add(prefix + "_USER");
      if (password == null || password.isEmpty()) missing.add(prefix + "_PASSWORD");
      return new Login(url, user, password);
    }
  }

  record Settings(Login demo, Login scratch) {
    static Settings fromEnv() {
      List<String> missing = new ArrayList<>();
      Login demo = Login.fromEnv("AG_JDBC", missing);
      Login scratch = Login.fromEnv("AG_JDBC_SCRATCH", missing);
      if (!missing.isEmpty()) {
        System.err.println("missing environment: " + String.join(", ", missing)
            + " (e.g. AG_JDBC_URL=jdbc:postgresql://127.0.0.1:15432/demo?sslmode=verify-full&sslrootcert=ca.crt)");
        System.exit(2);
      }
      return new Settings(demo, scratch);
    }

    Login login(Target target) {
      return target == Target.DEMO ? demo : scratch;
    }
  }

  // The order matters: tx-rollback uses the temp table batch-insert creates.
  static final List<Named> CHECKS = List.of(
      new Named("prepared-params", Target.DEMO, JdbcE2e::preparedParams),
      new Named("batch-insert", Target.SCRATCH, JdbcE2e::batchInsert),
      new Named("server-prepare", Target.DEMO, JdbcE2e::serverPrepare),
      new Named("stream-1m", Target.DEMO, JdbcE2e::stream1m),
      new Named("tx-rollback", Target.SCRATCH, JdbcE2e::txRollback));

  public static void main(String[] args) {
    Settings settings = Settings.fromEnv();
    boolean failed = false;
    Map<Target, Connection> open = new EnumMap<>(Target.class);
    try {
      for (Named named : CHECKS) {
        Connection c = open.get(named.target());
        try {
          if (c == null || c.isClosed()) {
            // A check that broke the session must not take the later ones down with it.
            if (c != null) closeQuietly(c);
            c = connect(settings.login(named.target()), named.target().connectCheck);
            open.put(named.target(), c);
          }
        } catch (Throwable t) {
          failed = true;
          System.out.println("FAIL " + named.target().connectCheck + " " + reason(t));
          break;
        }
        try {
          String details = named.check().run(c);
          System.out.println("ok " + named.name() + " " + details);
        } catch (Throwable t) {
          failed = true;
          System.out.println("FAIL " + named.name() + " " + reason(t));
          reset(c);
        }
        System.out.flush();
      }
    } finally {
      open.values().forEach(JdbcE2e::closeQuietly);
    }
    System.exit(failed ? 1 : 0);
  }

  static Connection connect(Login login, String check) throws SQLException, CheckFailed {
    Properties props = new Properties();
    props.setProperty("user", login.user());
    props.setProperty("password", login.password());
    props.setProperty("connectTimeout", "10");
    // A read that waits this long (seconds) fails its check with a reason, instead of the
    // whole run hanging until the caller's timeout kills it without one.
    props.setProperty("socketTimeout", "30");
    Connection c = DriverManager.getConnection(login.url(), props);
    // Every check is about the extended protocol; preferQueryMode=simple in the URL would
    // make them pass without it (isUseServerPrepare() even reports named statements then).
    PreferQueryMode mode = c.unwrap(PGConnection.class).getPreferQueryMode();
    if (mode != PreferQueryMode.EXTENDED) {
      closeQuietly(c);
      throw new CheckFailed("preferQueryMode is " + mode.value() + ", the checks need " + PreferQueryMode.EXTENDED.value());
    }
    System.out.println("ok " + check + " " + c.getMetaData().getDatabaseProductName() + " "
        + c.getMetaData().getDatabaseProductVersion() + " pgjdbc " + c.getMetaData().getDriverVersion()
        + " preferQueryMode=" + mode.value());
    return c;
  }

  // ------------------------------------------------------------------ a. parameters of several types

  static String preparedParams(Connection c) throws Exception {
    List<String> seen = new ArrayList<>();

    // int (int4) and bigint (int8) against a bigint key; the name must match the same row
    // read with the key inlined as a literal, so the check holds whatever the data.
    String literalName = queryString(c, "select name from customers where id = 42");
    try (PreparedStatement ps = c.prepareStatement("select id, name from customers where id = ?")) {
      ps.setInt(1, 42);
      try (ResultSet rs = ps.executeQuery()) {
        expect(rs.next(), "int: customer 42 not found");
        expectEqual(rs.getLong(1), 42L, "int: id");
        expectEqual(rs.getString(2), literalName, "int: name");
        expect(!rs.next(), "int: more than one row");
      }
      ps.setLong(1, 4_999L);
      try (ResultSet rs = ps.executeQuery()) {
        expect(rs.next(), "bigint: customer 4999 not found");
        expectEqual(rs.getLong(1), 4_999L, "bigint: id");
      }
      ps.setLong(1, Long.MAX_VALUE);
      try (ResultSet rs = ps.executeQuery()) {
        expect(!rs.next(), "bigint: a row for id = Long.MAX_VALUE");
      }
    }
    seen.add("name(42)=" + literalName);

    // text and numeric
    long paidOver500 = queryLong(c, "select count(*) from orders where status = 'paid' and amount > 500.00");
    try (PreparedStatement ps = c.prepareStatement("select count(*) from orders where status = ? and amount > ?")) {
      ps.setString(1, "paid");
      ps.setBigDecimal(2, new BigDecimal("500.00"));
      long n = singleLong(ps);
      expectEqual(n, paidOver500, "text+numeric: count(paid, > 500.00)");
      expect(n > 0, "text+numeric: no paid orders over 500.00 in the demo data");
      ps.setString(1, "no-such-status");
      expectEqual(singleLong(ps), 0L, "text+numeric: count(no-such-status)");
      seen.add("paid>500=" + n);
    }

    // timestamptz: orders are created one a minute from 2026-01-01 00:01 UTC
    OffsetDateTime from = OffsetDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);
    long firstHour = queryLong(c, "select count(*) from orders where created_at >= '2026-01-01 00:00:00+00' and created_at < '2026-01-01 01:00:00+00'");
    try (PreparedStatement ps = c.prepareStatement("select count(*) from orders where created_at >= ? and created_at < ?")) {
      ps.setObject(1, from);
      ps.setObject(2, from.plusHours(1));
      long n = singleLong(ps);
      expectEqual(n, firstHour, "timestamptz: count in the first hour");
      seen.add("firstHour=" + n);
    }

    // boolean
    long paid = queryLong(c, "select count(*) from orders where status = 'paid'");
    try (PreparedStatement ps = c.prepareStatement("select count(*) from orders where (status = 'paid') = ?")) {
      ps.setBoolean(1, true);
      expectEqual(singleLong(ps), paid, "boolean: count(paid = true)");
      ps.setBoolean(1, false);
      expectEqual(singleLong(ps), queryLong(c, "select count(*) from orders") - paid, "boolean: count(paid = false)");
    }

    // null: matches nothing with =, and arrives as SQL NULL
    try (PreparedStatement ps = c.prepareStatement("select count(*) from customers where email = ?")) {
      ps.setNull(1, Types.VARCHAR);
      expectEqual(singleLong(ps), 0L, "null: count(email = null)");
    }

    // Every type back unchanged in one row, the values crossing both ways as parameters and results.
    OffsetDateTime ts = OffsetDateTime.of(2026, 2, 3, 4, 5, 6, 789_000_000, ZoneOffset.UTC);
    BigDecimal amount = new BigDecimal("1234567890.12");
    String text = "O'Brien \"quoted\" ; -- not a comment, ünïcødé ✓";
    try (PreparedStatement ps = c.prepareStatement(
        "select ?::int4, ?::int8, ?::text, ?::numeric(12,2), ?::timestamptz, ?::bool, ?::text, ?::int8 is null")) {
      ps.setInt(1, -2_147_483_648);
      ps.setLong(2, 9_007_199_254_740_993L); // not representable as a double
      ps.setString(3, text);
      ps.setBigDecimal(4, amount);
      ps.setObject(5, ts);
      ps.setBoolean(6, true);
      ps.setNull(7, Types.VARCHAR);
      ps.setNull(8, Types.BIGINT);
      try (ResultSet rs = ps.executeQuery()) {
        expect(rs.next(), "round trip: no row");
        expectEqual(rs.getInt(1), -2_147_483_648, "round trip: int4");
        expectEqual(rs.getLong(2), 9_007_199_254_740_993L, "round trip: int8");
        expectEqual(rs.getString(3), text, "round trip: text");
        expectEqual(rs.getBigDecimal(4), amount, "round trip: numeric");
        expectEqual(rs.getObject(5, OffsetDateTime.class).toInstant(), ts.toInstant(), "round trip: timestamptz");
        expectEqual(rs.getBoolean(6), true, "round trip: bool");
        expectEqual(rs.getString(7), null, "round trip: null text");
        expect(rs.wasNull(), "round trip: null text is not SQL NULL");
        expectEqual(rs.getBoolean(8), true, "round trip: null int8 is null");
      }
    }
    seen.add("types=int,bigint,text,numeric,timestamptz,boolean,null");
    return String.join(" ", seen);
  }

  // ------------------------------------------------------------------ b. batch insert in a transaction

  static String batchInsert(Connection c) throws Exception {
    final int rows = 1_000;
    long started = System.nanoTime();
    c.setAutoCommit(false);
    try (Statement st = c.createStatement()) {
      st.execute("create temp table jdbc_batch(id int primary key, note text)");
    }
    int[] counts;
    try (PreparedStatement ps = c.prepareStatement("insert into jdbc_batch(id, note) values (?, ?)")) {
      for (int i = 1; i <= rows; i++) {
        ps.setInt(1, i);
        ps.setString(2, "row " + i);
        ps.addBatch();
      }
      counts = ps.executeBatch();
    }
    expectEqual(counts.length, rows, "update counts");
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] != 1 && counts[i] != Statement.SUCCESS_NO_INFO) {
        throw new CheckFailed("update count of row " + (i + 1) + " is " + counts[i]);
      }
    }
    expectEqual(queryLong(c, "select count(*) from jdbc_batch"), (long) rows, "count in the transaction");
    c.commit();
    c.setAutoCommit(true);
    expectEqual(queryLong(c, "select count(*) from jdbc_batch"), (long) rows, "count after commit");
    expectEqual(queryLong(c, "select sum(id) from jdbc_batch"), rows * (rows + 1L) / 2, "sum(id) after commit");
    expectEqual(queryString(c, "select note from jdbc_batch where id = 777"), "row 777", "note of row 777");
    return "rows=" + rows + " elapsedMs=" + millisSince(started);
  }

  // ------------------------------------------------------------------ c. unnamed -> named statement

  static String serverPrepare(Connection c) throws Exception {
    final int executions = 10;
    // A statement no other check uses: pgjdbc counts executions per SQL text and connection.
    final String sql = "select count(*) as jdbc_e2e_n, coalesce(sum(amount), 0) from orders where customer_id = ?";
    int threshold = c.unwrap(PGConnection.class).getPrepareThreshold();
    expectEqual(threshold, 5, "connection prepareThreshold (is it set in the URL?)");

    // Expected answers for customers 1..executions, computed without parameters.
    long[] expectCount = new long[executions + 1];
    BigDecimal[] expectSum = new BigDecimal[executions + 1];
    for (int id = 1; id <= executions; id++) {
      try (Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("select count(*), coalesce(sum(amount), 0) from orders where customer_id = " + id)) {
        rs.next();
        expectCount[id] = rs.getLong(1);
        expectSum[id] = rs.getBigDecimal(2);
      }
    }

    StringBuilder flags = new StringBuilder();
    int firstNamed = -1;
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      PGStatement pg = ps.unwrap(PGStatement.class);
      expectEqual(pg.getPrepareThreshold(), threshold, "statement prepareThreshold");
      for (int i = 1; i <= executions; i++) {
        // isUseServerPrepare() tells whether the next execution uses a named server-side
        // statement: pgjdbc sends execution n as a named statement once n >= prepareThreshold.
        boolean named = pg.isUseServerPrepare();
        flags.append(named ? 'N' : 'u');
        if (named && firstNamed < 0) firstNamed = i;
        ps.setLong(1, i);
        try (ResultSet rs = ps.executeQuery()) {
          expect(rs.next(), "execution " + i + ": no row");
          expectEqual(rs.getLong(1), expectCount[i], "execution " + i + ": count");
          expectEqual(rs.getBigDecimal(2), expectSum[i], "execution " + i + ": sum");
        }
      }
      expect(pg.isUseServerPrepare(), "not server-prepared after " + executions + " executions (" + flags + ")");
    }
    // Execution n < threshold goes as an unnamed statement, n >= threshold as a named one.
    expectEqual(firstNamed, threshold, "first execution as a named statement (u=unnamed N=named: " + flags + ")");
    // What the backend holds; informational only, since a gateway may map statement names.
    long backend = queryLong(c, "select count(*) from pg_prepared_statements where not from_sql and statement like '%jdbc_e2e_n%'");
    return "executions=" + executions + " threshold=" + threshold + " firstNamed=" + firstNamed
        + " statements=" + flags + " backendNamed=" + backend;
  }

  // ------------------------------------------------------------------ d. a streamed 1,000,000-row result

  static String stream1m(Connection c) throws Exception {
    final int total = 1_000_000;
    final int fetchSize = 10_000;
    MessageDigest md5 = MessageDigest.getInstance("MD5");
    HexFormat hex = HexFormat.of();
    final int liveSampleEvery = 100_000;
    final long liveLimit = 64L << 20;
    Runtime rt = Runtime.getRuntime();
    long heapMax = 0;
    long liveMax = 0;
    long gcNanos = 0;
    long rows = 0;
    long sum = 0;
    long started = System.nanoTime();
    // pgjdbc reads with a portal and Execute(max rows) only outside autocommit.
    c.setAutoCommit(false);
    try (Statement st = c.createStatement()) {
      st.setFetchSize(fetchSize);
      try (ResultSet rs = st.executeQuery("select g, md5(g::text) from generate_series(1, " + total + ") g")) {
        while (rs.next()) {
          long g = rs.getLong(1);
          rows++;
          // generate_series yields in order, so a lost or repeated batch shows at once.
          if (g != rows) throw new CheckFailed("row " + rows + " has g=" + g);
          String expected = hex.formatHex(md5.digest(Long.toString(g).getBytes(StandardCharsets.US_ASCII)));
          if (!expected.equals(rs.getString(2))) throw new CheckFailed("row " + rows + " has md5 " + rs.getString(2));
          sum += g;
          if (rows % fetchSize == 0) heapMax = Math.max(heapMax, rt.totalMemory() - rt.freeMemory());
          if (rows % liveSampleEvery == 0) {
            // What survives a full GC is what the result set holds: a few MiB when rows
            // arrive fetchSize at a time, well over 100 MiB if the whole result was read
            // at once (a gateway ignoring Execute's row limit, or simple query mode).
            long gcStarted = System.nanoTime();
            System.gc();
            gcNanos += System.nanoTime() - gcStarted;
            liveMax = Math.max(liveMax, rt.totalMemory() - rt.freeMemory());
          }
        }
      }
    }
    c.commit();
    c.setAutoCommit(true);
    long elapsed = (System.nanoTime() - started - gcNanos) / 1_000_000; // without the sampling GCs
    expectEqual(rows, (long) total, "rows");
    expectEqual(sum, 500_000_500_000L, "sum(g)");
    expect(liveMax < liveLimit, "heap live after GC reached " + (liveMax >> 20) + " MiB (limit "
        + (liveLimit >> 20) + " MiB): the result was not streamed");
    return "rows=" + rows + " sum=" + sum + " fetchSize=" + fetchSize + " elapsedMs=" + elapsed
        + " heapUsedMaxMiB=" + (heapMax >> 20) + " heapLiveMaxMiB=" + (liveMax >> 20)
        + " heapLimitMiB=" + (rt.maxMemory() >> 20);
  }

  // ------------------------------------------------------------------ e. error inside a transaction, rollback

  static String txRollback(Connection c) throws Exception {
    final int id = 1_000_001;
    c.setAutoCommit(false);
    // Normally created by batch-insert; created here (empty) if that check failed before it.
    try (Statement st = c.createStatement()) {
      st.execute("create temp table if not exists jdbc_batch(id int primary key, note text)");
    }
    c.commit();
    long before = queryLong(c, "select count(*) from jdbc_batch");
    try (PreparedStatement ps = c.prepareStatement("insert into jdbc_batch(id, note) values (?, ?)")) {
      ps.setInt(1, id);
      ps.setString(2, "rolled back");
      expectEqual(ps.executeUpdate(), 1, "insert count");
    }
    expectEqual(queryLong(c, "select count(*) from jdbc_batch where id = " + id), 1L, "row visible inside the transaction");

    String divState = null;
    try (PreparedStatement ps = c.prepareStatement("select 1 / ?")) {
      ps.setInt(1, 0);
      ps.executeQuery().close();
    } catch (SQLException e) {
      divState = e.getSQLState();
    }
    expectEqual(divState, "22012", "SQLSTATE of 1 / 0 (division_by_zero)");

    // The server now ignores everything until the transaction ends.
    String abortedState = null;
    try {
      queryLong(c, "select 1");
    } catch (SQLException e) {
      abortedState = e.getSQLState();
    }
    expectEqual(abortedState, "25P02", "SQLSTATE in the aborted transaction (in_failed_sql_transaction)");

    c.rollback();
    c.setAutoCommit(true);
    expectEqual(queryLong(c, "select count(*) from jdbc_batch where id = " + id), 0L, "rolled-back row");
    expectEqual(queryLong(c, "select count(*) from jdbc_batch"), before, "rows after rollback");
    return "error=22012 then=25P02 rolledBack=1 rowsKept=" + before;
  }

  // ------------------------------------------------------------------ helpers

  static long singleLong(PreparedStatement ps) throws SQLException, CheckFailed {
    try (ResultSet rs = ps.executeQuery()) {
      expect(rs.next(), "no row");
      return rs.getLong(1);
    }
  }

  static long queryLong(Connection c, String sql) throws SQLException, CheckFailed {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      expect(rs.next(), "no row for: " + sql);
      return rs.getLong(1);
    }
  }

  static String queryString(Connection c, String sql) throws SQLException, CheckFailed {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      expect(rs.next(), "no row for: " + sql);
      return rs.getString(1);
    }
  }

  static void expect(boolean condition, String what) throws CheckFailed {
    if (!condition) throw new CheckFailed(what);
  }

  static void expectEqual(Object actual, Object expected, String what) throws CheckFailed {
    boolean equal = expected instanceof BigDecimal e && actual instanceof BigDecimal a
        ? e.compareTo(a) == 0
        : java.util.Objects.equals(actual, expected);
    if (!equal) throw new CheckFailed(what + ": expected " + expected + ", got " + actual);
  }

  static long millisSince(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1_000_000;
  }

  /** One line: exception class, SQLSTATE when there is one, message; causes appended. */
  static String reason(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable e = t; e != null; e = e.getCause() == e ? null : e.getCause()) {
      if (sb.length() > 0) sb.append(" <- ");
      if (!(e instanceof CheckFailed)) sb.append(e.getClass().getSimpleName()).append(": ");
      if (e instanceof SQLException s && s.getSQLState() != null) sb.append('[').append(s.getSQLState()).append("] ");
      sb.append(e.getMessage());
    }
    return sb.toString().replaceAll("\\s+", " ");
  }

  /** Back to autocommit after a failed check, so the next one starts clean. */
  static void reset(Connection c) {
    try {
      if (!c.isClosed() && !c.getAutoCommit()) {
        c.rollback();
        c.setAutoCommit(true);
      }
    } catch (SQLException ignored) {
      // The next check reconnects when the connection is no longer valid.
    }
  }

  static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException ignored) {
      // Nothing to do: the session is going away either way.
    }
  }

  private JdbcE2e() {}
}
