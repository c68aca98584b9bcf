import java.sql.*;
import java.util.*;

/** pgJDBC against a Lamna server: prints one "OK name" line per check, or "FAIL name: why". */
public class LamnaJdbcCheck {
    static int failures = 0;

    interface Check { void run() throws Exception; }

    static void check(String name, Check c) {
        try { c.run(); System.out.println("OK " + name); }
        catch (Throwable t) { failures++; System.out.println("FAIL " + name + ": " + t); }
    }

    static void expect(boolean cond, String what) { if (!cond) throw new AssertionError(what); }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        props.setProperty("password", args[2]);
        try (Connection conn = DriverManager.getConnection(url, props)) {
            check("statement", () -> {
                try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT id, name, price FROM items ORDER BY id")) {
                    List<String> got = new ArrayList<>();
                    while (rs.next()) got.add(rs.getInt(1) + ":" + rs.getString(2) + ":" + rs.getBigDecimal(3));
                    expect(got.equals(List.of("1:apple:1.50", "2:pear:2.25", "3:fig:null")), got.toString());
                }
            });
            check("prepared_statement_server_side", () -> {
                try (PreparedStatement ps = conn.prepareStatement("SELECT label, n, n * 2 AS twice FROM numbers WHERE n = ?")) {
                    for (int i = 1; i <= 8; i++) {
                        ps.setInt(1, i);
                        try (ResultSet rs = ps.executeQuery()) {
                            expect(rs.next(), "row " + i);
                            expect(rs.getString(1).equals("n" + i), rs.getString(1));
                            expect(rs.getLong(2) == i, "n");
                            expect(rs.getLong(3) == 2L * i, "twice");
                            expect(!rs.next(), "one row");
                        }
                    }
                }
            });
            check("prepared_statement_types", () -> {
                try (PreparedStatement ps = conn.prepareStatement("SELECT id, sold, ts, flag, ratio, big, small FROM items WHERE sold = ? OR name = ?")) {
                    for (int i = 0; i < 7; i++) {
                        ps.setDate(1, java.sql.Date.valueOf("2024-01-02"));
                        ps.setString(2, "pear");
                        try (ResultSet rs = ps.executeQuery()) {
                            Set<Integer> ids = new TreeSet<>();
                            while (rs.next()) {
                                ids.add(rs.getInt(1));
                                if (rs.getInt(1) == 1) {
                                    expect(rs.getDate(2).toString().equals("2024-01-02"), "date " + rs.getDate(2));
                                    expect(rs.getTimestamp(3).toString().equals("2024-01-02 03:04:05.0"), "ts " + rs.getTimestamp(3));
                                    expect(rs.getBoolean(4), "flag");
                                    expect(rs.getDouble(5) == 0.5, "ratio");
                                    expect(rs.getLong(6) == 10000000000L, "big");
                                    expect(rs.getShort(7) == 1, "small");
                                }
                            }
                            expect(ids.equals(new TreeSet<>(List.of(1, 2))), ids.toString());
                        }
                    }
                }
            });
            check("result_set_metadata", () -> {
                try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT id, name, price, sold, flag FROM items")) {
                    ResultSetMetaData md = rs.getMetaData();
                    expect(md.getColumnCount() == 5, "count");
                    expect(md.getColumnName(1).equals("id") && md.getColumnType(1) == Types.INTEGER, "id " + md.getColumnType(1));
                    expect(md.getColumnType(2) == Types.VARCHAR, "name " + md.getColumnType(2));
                    expect(md.getColumnType(3) == Types.NUMERIC && md.getPrecision(3) == 10 && md.getScale(3) == 2, "price");
                    expect(md.getColumnType(4) == Types.DATE, "sold");
                    expect(md.getColumnType(5) == Types.BIT || md.getColumnType(5) == Types.BOOLEAN, "flag");
                    expect(md.getTableName(1).equals("items"), "table name " + md.getTableName(1));
                }
            });
            check("database_metadata", () -> {
                DatabaseMetaData md = conn.getMetaData();
                expect(md.getDatabaseProductName().equals("PostgreSQL"), md.getDatabaseProductName());
                Set<String> tables = new TreeSet<>();
                try (ResultSet rs = md.getTables(null, "public", "%", new String[]{"TABLE"})) {
                    while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
                }
                expect(tables.containsAll(List.of("items", "numbers")), tables.toString());
                List<String> cols = new ArrayList<>();
                try (ResultSet rs = md.getColumns(null, "public", "items", "%")) {
                    while (rs.next()) cols.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME"));
                }
                expect(cols.get(0).equals("id:int4") && cols.get(2).equals("price:numeric") && cols.size() == 9, cols.toString());
                Set<String> schemas = new TreeSet<>();
                try (ResultSet rs = md.getSchemas()) {
                    while (rs.next()) schemas.add(rs.getString("TABLE_SCHEM"));
                }
                expect(schemas.contains("public"), schemas.toString());
            });
            check("fetch_size_streaming", () -> {
                conn.setAutoCommit(false);
                try (Statement st = conn.createStatement()) {
                    st.setFetchSize(100);
                    long count = 0, sum = 0;
                    try (ResultSet rs = st.executeQuery("SELECT a.n AS x, b.n AS y FROM numbers a CROSS JOIN numbers b")) {
                        while (rs.next()) { count++; sum += rs.getLong(1); }
                    }
                    expect(count == 2500 && sum == 50L * 1275, count + " " + sum);
                }
                conn.commit();
                conn.setAutoCommit(true);
            });
            check("error_leaves_connection_usable", () -> {
                try (Statement st = conn.createStatement()) {
                    try {
                        st.executeQuery("SELECT * FROM no_such_table");
                        throw new AssertionError("no error");
                    } catch (SQLException e) {
                        expect("42P01".equals(e.getSQLState()), "state " + e.getSQLState());
                    }
                    try (ResultSet rs = st.executeQuery("SELECT 42")) {
                        expect(rs.next() && rs.getInt(1) == 42, "after error");
                    }
                }
            });
            check("statement_cancel", () -> {
                try (Statement st = conn.createStatement()) {
                    Thread t = new Thread(() -> {
                        try { Thread.sleep(700); st.cancel(); } catch (Exception e) { }
                    });
                    t.start();
                    long start = System.nanoTime();
                    try {
                        st.executeQuery(args[3]);
                        throw new AssertionError("not cancelled");
                    } catch (SQLException e) {
                        expect("57014".equals(e.getSQLState()), "state " + e.getSQLState() + " " + e.getMessage());
                    }
                    t.join();
                    expect((System.nanoTime() - start) / 1e9 < 30, "took too long");
                    try (ResultSet rs = st.executeQuery("SELECT 1")) { expect(rs.next(), "after cancel"); }
                }
            });
        }
        System.out.println(failures == 0 ? "ALL OK" : failures + " FAILED");
        System.exit(failures == 0 ? 0 : 1);
    }
}
