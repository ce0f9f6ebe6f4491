package io.keybroker.cli;

import io.keybroker.inject.InjectorServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keybroker injector}: serves the sidecar-injection webhook from the same jar and image as the sidecar,
 * without starting the broker (no backend, policy or secret is involved).
 */
@Command(name = "injector", mixinStandardHelpOptions = true,
        description = "Serve the mutating admission webhook that injects the Keybroker sidecar into pods "
                + "annotated keybroker.io/inject: \"true\".")
public final class InjectorCommand implements Callable<Integer> {

    private final CliContext context;

    @Option(names = "--template", required = true,
            description = "The chart's injection.json (ConfigMap <release>-injector), re-read on change.")
    Path template;

    @Option(names = "--tls-dir", required = true,
            description = "Directory with the serving certificate: tls.crt, tls.key and ca.crt (a cert-manager "
                    + "Secret), re-read on change.")
    Path tlsDir;

    @Option(names = "--address", defaultValue = "0.0.0.0", description = "Listen address (default: ${DEFAULT-VALUE}).")
    String address;

    @Option(names = "--port", defaultValue = "8443", description = "HTTPS port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--reload-interval", defaultValue = "PT2S",
            description = "How often the template and TLS files are checked for changes (default: ${DEFAULT-VALUE}).")
    Duration reloadInterval;

    InjectorCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        InjectorServer server;
        try {
            server = new InjectorServer(template, tlsDir, address, port, reloadInterval);
        } catch (IOException ex) {
            context.err().println("error: " + ex.getMessage());
            return 1;
        }
        context.out().println("keybroker injector: listening on https://" + address + ":" + server.port()
                + "/mutate");
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "keybroker-injector-stop"));
        server.awaitShutdown();
        return 0;
    }
}
