package io.keybroker.dev;

import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.web.server.context.WebServerInitializedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/** In development mode, prints the curl line that reads the example secret once the listener is up. */
@Component
@ConditionalOnProperty(name = "keybroker.dev", havingValue = "true")
public class DevModeAnnouncer {

    private static final Logger log = LoggerFactory.getLogger("keybroker.dev");

    private final Environment environment;

    public DevModeAnnouncer(Environment environment) {
        this.environment = environment;
    }

    @EventListener
    void onServerStarted(WebServerInitializedEvent event) {
        if (event.getApplicationContext().getServerNamespace() != null) {
            return;
        }
        Path dir = Path.of(environment.getProperty("keybroker.tls.trust-bundle", "keybroker-dev/ca.pem")).getParent();
        log.info("""

                Keybroker development mode: certificates, policy and example secrets are in {}
                Read the example secret (as workload {}):

                  curl --cacert {}/ca.pem --cert {}/client.pem --key {}/client-key.pem https://127.0.0.1:{}/v1/secrets/stripe/secret-key
                """, dir, DevModeEnvironmentPostProcessor.WORKLOAD, dir, dir, dir, event.getWebServer().getPort());
    }
}
