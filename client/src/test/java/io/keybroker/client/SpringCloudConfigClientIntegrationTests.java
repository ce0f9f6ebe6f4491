package io.keybroker.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Configuration;

/**
 * A stock Spring Boot application with spring-cloud-starter-config gets its keys from the broker with nothing but
 * properties: spring.config.import=configserver:..., and the TLS key and trust stores.
 */
class SpringCloudConfigClientIntegrationTests {

    private static final String CURRENT = "sk_test_configClientCurrent000000001";
    private static final String PREVIOUS = "sk_test_configClientPrevious00000001";

    @TempDir
    Path dir;

    /** The application: no code at all. */
    @Configuration(proxyBeanMethods = false)
    static class PaymentsApp {
    }

    private ConfigurableApplicationContext start(int port, String application) {
        SpringApplication app = new SpringApplication(PaymentsApp.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        return app.run("--spring.application.name=" + application,
                "--spring.config.import=configserver:https://127.0.0.1:" + port,
                "--spring.cloud.config.fail-fast=true",
                "--spring.cloud.config.tls.enabled=true",
                "--spring.cloud.config.tls.key-store=file:" + dir.resolve("client.p12"),
                "--spring.cloud.config.tls.key-store-type=PKCS12",
                "--spring.cloud.config.tls.key-store-password=changeit",
                "--spring.cloud.config.tls.key-password=changeit",
                "--spring.cloud.config.tls.trust-store=file:" + dir.resolve("ca.p12"),
                "--spring.cloud.config.tls.trust-store-type=PKCS12",
                "--spring.cloud.config.tls.trust-store-password=changeit");
    }

    @Test
    void shouldGiveAStockConfigClientItsKeysAndRefuseAnotherApplication() throws Exception {
        Peers.pki(dir);
        try (Peers.Broker broker = new Peers.Broker(dir, Peers.POLICY, Peers.secrets(CURRENT, PREVIOUS))) {
            try (ConfigurableApplicationContext app = start(broker.port, "checkout")) {
                assertThat(app.getEnvironment().getProperty("stripe.secret-key")).isEqualTo(CURRENT);
                assertThat(app.getEnvironment().getProperty("stripe.secret-key.previous")).isEqualTo(PREVIOUS);
            }
            assertThatThrownBy(() -> start(broker.port, "reporting").close())
                    .hasStackTraceContaining("403");
            assertThat(broker.audit()).contains("\"endpoint\":\"config\"", "\"rule\":\"application-mismatch\"");
        }
    }
}
