/*
 * Embedded Neo4j 5.26 LTS Community launcher used by scripts/neo4j-local.
 *
 * Starts a DBMS with only the Bolt connector enabled, bound to loopback, auth
 * disabled, with a small page cache; prints "NEO4J READY bolt://HOST:PORT" once
 * the DBMS is up and then blocks until the JVM is terminated. SIGTERM/SIGINT run
 * the shutdown hook, which shuts the DBMS down cleanly (checkpoint + close).
 *
 * Usage: java -cp <classes>:<neo4j classpath> Launcher [--port N] [--host H]
 *                                                     [--data DIR] [--pagecache SIZE_MB]
 *   --data is the DBMS *home* directory: stores go to DIR/data/databases,
 *   transaction logs to DIR/data/transactions and Neo4j's own logs to DIR/logs.
 *
 * Auth is disabled and the connector only listens on 127.0.0.1: this is a
 * development/test server, never expose it.
 */

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

public final class Launcher {

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        int port = 7687;
        String host = "127.0.0.1";
        Path home = Path.of("neo4j-home");
        long pageCacheMb = 256;

        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--port" -> port = Integer.parseInt(requireValue(args, ++i, a));
                case "--host" -> host = requireValue(args, ++i, a);
                case "--data" -> home = Path.of(requireValue(args, ++i, a));
                case "--pagecache" -> pageCacheMb = Long.parseLong(requireValue(args, ++i, a));
                case "-h", "--help" -> {
                    System.out.println("usage: Launcher [--port N] [--host H] [--data DIR] [--pagecache MB]");
                    return;
                }
                default -> {
                    System.err.println("Launcher: unknown argument: " + a);
                    System.exit(2);
                }
            }
        }

        home = home.toAbsolutePath().normalize();
        Files.createDirectories(home);

        long t0 = System.nanoTime();
        System.out.println("NEO4J STARTING home=" + home + " bolt=" + host + ":" + port);
        System.out.flush();

        final DatabaseManagementService managementService;
        try {
            managementService = new DatabaseManagementServiceBuilder(home)
                    // Bolt only, loopback only, plain text (no TLS) - local dev/test server.
                    .setConfig(BoltConnector.enabled, true)
                    .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                    .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                    .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                    // The embedded builder does not start the web server, but make that explicit.
                    .setConfig(HttpConnector.enabled, false)
                    .setConfig(HttpsConnector.enabled, false)
                    // No authentication: drivers must connect with auth=None (or any basic auth, ignored).
                    .setConfig(GraphDatabaseSettings.auth_enabled, false)
                    // Keep memory modest: the JVM heap is capped by the caller (-Xmx).
                    .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
                    // keep only the latest transaction log file (the default keeps two days' worth:
                    // a few full curated loads left 18 GB of logs in a dev database)
                    .setConfig(GraphDatabaseSettings.keep_logical_logs, "1 files")
                    // Don't phone home.
                    .setConfig(GraphDatabaseSettings.udc_enabled, false)
                    // Allow a clean shutdown to wait a little for running transactions.
                    .setConfig(GraphDatabaseSettings.shutdown_transaction_end_timeout, Duration.ofSeconds(10))
                    // Netty's graceful-shutdown quiet period (internal setting, default 5 s) would
                    // otherwise add ~5 s to every stop; the databases are already closed by then.
                    .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                    .build();
        } catch (Throwable t) {
            System.err.println("NEO4J FAILED to start: " + t);
            t.printStackTrace();
            System.err.flush();
            // Don't linger on non-daemon threads: the caller watches for process exit.
            Runtime.getRuntime().halt(1);
            return;
        }

        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("NEO4J STOPPING");
            System.out.flush();
            try {
                managementService.shutdown();
                System.out.println("NEO4J STOPPED");
            } catch (Throwable t) {
                System.err.println("NEO4J shutdown failed: " + t);
                t.printStackTrace();
            } finally {
                System.out.flush();
                stopped.countDown();
            }
        }, "neo4j-shutdown"));

        // Touch the default database so the READY line really means "queries will work".
        try {
            GraphDatabaseService db = managementService.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
            db.executeTransactionally("RETURN 1");
        } catch (Throwable t) {
            System.err.println("NEO4J FAILED: default database is not usable: " + t);
            t.printStackTrace();
            System.exit(1); // runs the shutdown hook
        }

        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("NEO4J READY bolt://" + host + ":" + port + " (started in " + ms + " ms, pid "
                + ProcessHandle.current().pid() + ")");
        System.out.flush();

        // Block until the JVM is terminated; the shutdown hook does the cleanup.
        stopped.await();
    }

    private static String requireValue(String[] args, int i, String flag) {
        if (i >= args.length) {
            System.err.println("Launcher: missing value for " + flag);
            System.exit(2);
        }
        return args[i];
    }
}
