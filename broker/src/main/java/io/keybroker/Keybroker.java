package io.keybroker;

import io.keybroker.cli.KeybrokerCli;
import io.keybroker.listener.TlsNamedGroups;
import org.springframework.boot.SpringApplication;

/**
 * Entry point of {@code keybroker.jar}. With no command it serves; with {@code policy}, {@code audit} or
 * {@code rotate} it runs that command and exits with its status, without starting the server.
 */
public final class Keybroker {

    private Keybroker() {
    }

    public static void main(String[] args) {
        // TLS 1.2 renegotiation started by a client is refused (TLS 1.3 has none); set before any TLS class loads.
        if (System.getProperty("jdk.tls.rejectClientInitiatedRenegotiation") == null) {
            System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
        }
        // Java 17 to 19 can restrict key-exchange groups only JVM-wide, before any TLS class loads.
        TlsNamedGroups.configureJvmDefault();
        if (KeybrokerCli.isCommand(args)) {
            System.exit(KeybrokerCli.run(args));
        }
        SpringApplication.run(KeybrokerApplication.class, args);
    }
}
